"""An outbox table as a work queue: claim due rows with a lease, record an attempt, release.

Claiming is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …``: on
PostgreSQL concurrent workers skip each other's rows; on SQLite the single statement is atomic.
A claimed row stays pending with ``locked_by``/``locked_until`` set and its attempt counted, so
a worker that dies holding it loses it when the lease runs out and another worker picks it up.
The lease is short and renewed while the attempt is in flight: a slow backend keeps its row,
a dead worker's rows come back within seconds.
Any number of workers share a table without sending anything twice at once.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Row, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable

from ussd_gateway.adapters.db.models import DEAD, FAILED, PENDING, utcnow
from ussd_gateway.config.backends import RetryPolicy

Clock = Callable[[], dt.datetime]
"""Now, timezone-aware UTC: what due times, leases and ages are measured with."""


class Outcome(enum.Enum):
    """What one attempt came to, as far as the queue is concerned."""

    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"
    """Will not get better by retrying."""


@dataclass(frozen=True)
class Table:
    """An outbox table (a model with the lease columns) and what its statuses are called."""

    model: Any
    done: str
    pending: str = PENDING
    failed: str = FAILED
    dead: str = DEAD


class Leased(Protocol):
    """A claimed row as the queue needs it back: this try's number (1 for the first), and
    when the give-up age starts counting."""

    @property
    def id(self) -> int: ...
    @property
    def attempt(self) -> int: ...
    @property
    def age_from(self) -> dt.datetime: ...


@dataclass(frozen=True)
class Queue:
    """Claims, records and releases rows of one outbox table."""

    sessionmaker: async_sessionmaker[AsyncSession]
    table: Table
    now: Clock = utcnow

    async def claim(
        self,
        worker: str,
        limit: int,
        lease: float,
        columns: Sequence[Any],
        where: Sequence[Any] = (),
    ) -> Sequence[Row[Any]]:
        """Lease up to ``limit`` due rows (also matching ``where``) to ``worker``; ``columns``."""
        model, now = self.table.model, self.now()
        due = (
            select(model.id)
            .where(
                model.status == self.table.pending,
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
        async with self.sessionmaker() as session, session.begin():
            return (await session.execute(statement)).all()

    async def record(
        self,
        item: Leased,
        outcome: Outcome,
        *,
        worker: str,
        now: dt.datetime,
        policy: RetryPolicy,
        values: Mapping[str, Any],
        final: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        before: Sequence[Executable] = (),
        finished: Callable[[AsyncSession], Awaitable[Any]] | None = None,
    ) -> str:
        """Move ``item`` on after an attempt: done, failed, due again later, or dead; which.

        ``values`` are the sender's columns for this attempt, ``final`` more of them for when
        the row is finished with; ``before`` runs first in the same transaction, ``finished``
        last when the attempt left the row done, failed or dead. A status that something else
        has moved on from pending meanwhile is kept.
        """
        table, model = self.table, self.table.model
        next_at: dt.datetime | None = None
        if outcome is Outcome.DONE:
            status = table.done
        elif outcome is Outcome.FAILED:
            status = table.failed
        else:
            age = (now - item.age_from).total_seconds()
            wait = policy.next_wait(item.attempt, age, retry_after=retry_after)
            status = table.dead if wait is None else table.pending
            if wait is not None:
                next_at = now + dt.timedelta(seconds=wait)
        columns: dict[str, Any] = {
            **values,
            "locked_by": None,
            "locked_until": None,
            "updated_at": now,
            "status": case((model.status == table.pending, status), else_=model.status),
        }
        if next_at is not None:
            columns["next_attempt_at"] = next_at
        if status != table.pending:
            columns |= final or {}
        mine = and_(model.id == item.id, model.locked_by == worker)
        async with self.sessionmaker() as session, session.begin():
            for statement in before:
                await session.execute(statement)
            changed = await session.execute(_update(model, mine, columns))
            if not getattr(changed, "rowcount", 0) and status == table.done:
                # another worker took it over after our lease ran out; what we sent still
                # counts (a backend absorbs the repeat by its idempotency key)
                waiting = and_(model.id == item.id, model.status == table.pending)
                changed = await session.execute(_update(model, waiting, columns))
            if finished is not None and status != table.pending and getattr(changed, "rowcount", 0):
                await finished(session)
        return status

    async def renew(self, worker: str, ids: Sequence[int], lease: float) -> int:
        """Extend ``worker``'s leases on ``ids`` (attempts still in flight) to ``lease`` seconds
        from now, so a short lease outlives a slow attempt; how many it still held."""
        if not ids:
            return 0
        model = self.table.model
        mine = and_(
            model.id.in_(list(ids)), model.locked_by == worker, model.status == self.table.pending
        )
        until = self.now() + dt.timedelta(seconds=lease)
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(_update(model, mine, {"locked_until": until}))
        return int(getattr(result, "rowcount", 0) or 0)

    async def release(self, worker: str, ids: Sequence[int]) -> None:
        """Give back leases (graceful shutdown): the rows are due again at once, and the
        interrupted attempt does not count against ``max_attempts``."""
        if not ids:
            return
        model = self.table.model
        mine = and_(model.id.in_(list(ids)), model.locked_by == worker)
        values = {
            "locked_by": None,
            "locked_until": None,
            "attempts": case((model.attempts > 0, model.attempts - 1), else_=0),
        }
        async with self.sessionmaker() as session, session.begin():
            await session.execute(_update(model, mine, values))

    async def hurry(self, *where: Any) -> int:
        """Make every waiting row matching ``where`` due now; how many there were."""
        model, now = self.table.model, self.now()
        waiting = and_(model.status == self.table.pending, model.next_attempt_at > now, *where)
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(_update(model, waiting, {"next_attempt_at": now}))
        return int(getattr(result, "rowcount", 0) or 0)

    async def waiting_by(self, column: Any) -> dict[Any, int]:
        """Pending rows per value of ``column``."""
        model = self.table.model
        query = (
            select(column, func.count()).where(model.status == self.table.pending).group_by(column)
        )
        async with self.sessionmaker() as session:
            return {value: n for value, n in (await session.execute(query)).all()}


async def counts(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> dict[str, int]:
    """Rows of an outbox table per status."""
    query = select(model.status, func.count()).group_by(model.status)
    async with sessionmaker() as session:
        return {status: n for status, n in (await session.execute(query)).all()}


def _update(model: Any, where: Any, values: Mapping[str, Any]) -> Executable:
    return update(model).where(where).values(**values).execution_options(synchronize_session=False)
