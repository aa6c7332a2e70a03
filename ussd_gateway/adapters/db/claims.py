"""Claiming due outbox rows: the one query both outboxes (submissions, SMS) lease work with.

A row is due when it is pending, its next attempt time has come and no live lease holds it. The
claim marks it leased to one worker and counts the attempt in a single UPDATE whose inner
SELECT skips rows other workers hold (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so any number
of workers share an outbox without sending anything twice; a killed worker's lease runs out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from ussd_gateway.adapters.db.models import utcnow


async def claim_due(
    sessionmaker: async_sessionmaker[Any],
    model: Any,
    *,
    pending: str,
    worker: str,
    limit: int,
    lease: float,
    columns: Sequence[Any],
    where: Sequence[Any] = (),
) -> Sequence[Row[Any]]:
    """Lease up to ``limit`` due rows of ``model`` to ``worker``; their ``columns``."""
    now = utcnow()
    due = (
        select(model.id)
        .where(
            model.status == pending,
            *where,
            or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now),
            or_(model.locked_until.is_(None), model.locked_until < now),
        )
        .order_by(model.next_attempt_at, model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(model)
        .where(model.id.in_(due))
        .values(
            locked_by=worker,
            locked_until=now + dt.timedelta(seconds=lease),
            attempts=model.attempts + 1,
        )
        .returning(*columns)
        .execution_options(synchronize_session=False)
    )
    async with sessionmaker() as session, session.begin():
        return (await session.execute(statement)).all()
