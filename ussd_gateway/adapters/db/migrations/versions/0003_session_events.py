"""Session events: start, screens shown and end of each journey, for funnels and summaries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Written by hand; must match ``ussd_gateway.db.models.SessionEvent``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("session_id", sa.String(40), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("screen", sa.String(100), nullable=True),
        sa.Column("reason", sa.String(16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_events")),
        sa.CheckConstraint(
            "kind IN ('start', 'screen', 'end')", name=op.f("ck_session_events_kind")
        ),
    )
    op.create_index(op.f("ix_session_events_service_at"), "session_events", ["service", "at"])
    op.create_index(op.f("ix_session_events_session_id"), "session_events", ["session_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_session_events_session_id"), table_name="session_events")
    op.drop_index(op.f("ix_session_events_service_at"), table_name="session_events")
    op.drop_table("session_events")
