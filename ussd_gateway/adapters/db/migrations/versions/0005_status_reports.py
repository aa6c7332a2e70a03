"""Status reports: when the last one a backend sent was stamped, so an older one is refused,
and how often the case was reopened.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Written by hand; must match ``ussd_gateway.db.models.Submission``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "submissions", sa.Column("status_reported_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "submissions",
        sa.Column("reopened", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("reopened")
        batch.drop_column("status_reported_at")
