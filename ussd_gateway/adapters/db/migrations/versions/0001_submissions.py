"""Submissions: what citizens submitted, with a reference and delivery state.

Revision ID: 0001
Revises:
Create Date: 2024-11-23

Written by hand; must match ``ussd_gateway.db.models.Submission``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    now = sa.text("CURRENT_TIMESTAMP")
    op.create_table(
        "submissions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("backend", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(100), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, server_default="pending"),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True, server_default=now),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("reference", name=op.f("uq_submissions_reference")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_submissions_idempotency_key")),
        sa.CheckConstraint("channel IN ('ussd', 'sms')", name=op.f("ck_submissions_channel")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_submissions_attempts_not_negative")),
        sa.CheckConstraint(
            "NOT anonymous OR phone IS NULL", name=op.f("ck_submissions_anonymous_has_no_phone")
        ),
    )
    op.create_index(
        op.f("ix_submissions_status_next_attempt_at"), "submissions", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_submissions_status_next_attempt_at"), table_name="submissions")
    op.drop_table("submissions")
