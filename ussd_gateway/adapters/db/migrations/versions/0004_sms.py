"""SMS channel: the SMS outbox and the numbers that opted out of updates.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Written by hand; must match ``ussd_gateway.db.models.SmsMessage`` and ``SmsOptOut``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("drop_phone", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(16), nullable=True),
        sa.Column("link_id", sa.String(100), nullable=True),
        sa.Column("sender", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column(
            "next_attempt_at", WHEN, nullable=True, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("locked_until", WHEN, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(100), nullable=True),
        sa.Column("cost", sa.String(32), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("provider_status", sa.String(32), nullable=True),
        sa.Column("failure_reason", sa.String(100), nullable=True),
        sa.Column("network_code", sa.String(16), nullable=True),
        sa.Column("created_at", WHEN, nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("updated_at", WHEN, nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.Column("reported_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
        sa.UniqueConstraint("purpose", name=op.f("uq_sms_messages_purpose")),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'dead')", name=op.f("ck_sms_messages_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_sms_messages_attempts_not_negative")),
    )
    op.create_index(
        op.f("ix_sms_messages_status_next_attempt_at"),
        "sms_messages",
        ["status", "next_attempt_at"],
    )
    op.create_index(op.f("ix_sms_messages_message_id"), "sms_messages", ["message_id"])
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("at", WHEN, nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_sms_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("sms_opt_outs")
    op.drop_index(op.f("ix_sms_messages_message_id"), table_name="sms_messages")
    op.drop_index(op.f("ix_sms_messages_status_next_attempt_at"), table_name="sms_messages")
    op.drop_table("sms_messages")
