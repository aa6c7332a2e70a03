"""Queueing SMS in the caller's transaction, once per purpose.

``purpose`` is unique and a duplicate is ignored, so a retried hop, a retried callback or two
processes racing queue one SMS, not two. Queued in the caller's transaction, a message exists
exactly when what it speaks of does (a receipt and its submission).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ussd_gateway.adapters.db.models import SmsMessage
from ussd_gateway.domain.outgoing import OutgoingSms


@functools.cache
def insert_ignoring_duplicates(dialect: str, table: Any = SmsMessage.__table__) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``table`` (the outbox) for ``dialect``; built
    once per pair (a receipt batch rides on a submitting hop's path)."""
    if dialect == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


async def enqueue_in(
    session: AsyncSession | AsyncConnection, messages: Sequence[OutgoingSms]
) -> None:
    """Queue ``messages`` in ``session``'s transaction."""
    if messages:
        bind = session if isinstance(session, AsyncConnection) else session.bind
        statement = insert_ignoring_duplicates(bind.dialect.name)
        await session.execute(statement, [_row(m) for m in messages])


def _row(message: OutgoingSms) -> dict[str, Any]:
    return {
        "purpose": message.purpose[:200],
        "phone": message.phone,
        "language": message.language,
        "body": message.text,
        "reference": message.reference,
        "link_id": message.link_id,
        "sender": message.sender,
        "drop_phone": message.drop_phone,
    }
