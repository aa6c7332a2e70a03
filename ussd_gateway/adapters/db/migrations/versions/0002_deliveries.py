"""Deliveries: the worker's lease on submissions, the backend's answer, and every attempt.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Written by hand; must match ``ussd_gateway.db.models`` (Submission, DeliveryAttempt).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("submissions", sa.Column("locked_by", sa.String(64), nullable=True))
    op.add_column(
        "submissions", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "submissions", sa.Column("requeued_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "submissions", sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("submissions", sa.Column("remote_id", sa.String(100), nullable=True))
    op.add_column("submissions", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("submissions", sa.Column("status_notes", sa.JSON(), nullable=True))
    op.create_table(
        "delivery_attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("submission_id", ID, nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_delivery_attempts_submission_id_submissions"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_delivery_attempts_submission_id_attempt"),
        "delivery_attempts",
        ["submission_id", "attempt"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_delivery_attempts_submission_id_attempt"), table_name="delivery_attempts"
    )
    op.drop_table("delivery_attempts")
    with op.batch_alter_table("submissions") as batch:
        for column in (
            "status_notes",
            "last_error",
            "remote_id",
            "delivered_at",
            "requeued_at",
            "locked_until",
            "locked_by",
        ):
            batch.drop_column(column)
