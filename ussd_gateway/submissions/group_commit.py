"""Group commit: submissions arriving together share one transaction, hence one durable sync.

SQLite has one writer, and a durable commit waits for the disk: one transaction per submission
makes the others queue behind each sync. On PostgreSQL a transaction per submission costs a
pool checkout (with its ping), BEGIN, INSERT and COMMIT round trips, and a WAL flush each.
Here a submission waits exactly as before until its row is committed, but every submission
that arrived while the previous transaction was committing goes into the next one. Nothing is
acknowledged earlier than before; an idle gateway writes a batch of one at once (no timer, no
added latency).

Idempotency holds per row: ``INSERT … ON CONFLICT DO NOTHING`` then a look-up of the batch's
idempotency keys in the same transaction gives each draft the reference stored for its key,
its own or the first one's. A row the batch could not take (a reference collision, a broken
draft) is written alone by the caller's single-submission path, so one bad draft fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ussd_gateway.db.models import Submission
from ussd_gateway.db.writelock import NoLock
from ussd_gateway.sms.receipts import RECEIPT_KEY, enqueue_receipts
from ussd_gateway.submissions.references import new_reference

log = logging.getLogger(__name__)

MAX_BATCH = 200
"""Rows per transaction at most (well under SQLite's bound-parameter limit)."""

_INSERTS_IGNORING_DUPLICATES = {
    "sqlite": sqlite_insert(Submission.__table__).on_conflict_do_nothing(),
    "postgresql": postgresql_insert(Submission.__table__).on_conflict_do_nothing(),
}
DIALECTS = frozenset(_INSERTS_IGNORING_DUPLICATES)
"""Databases group commit speaks to (their ``INSERT … ON CONFLICT DO NOTHING``)."""
_KEYS = Submission.__table__.c.idempotency_key
_REFERENCES = select(_KEYS, Submission.__table__.c.reference)

Single = Callable[[dict[str, Any]], Awaitable[str]]
"""The one-submission path: writes ``values`` in a transaction of its own, returns the reference."""


class GroupCommit:
    """Queues submissions and writes each queue-full in one transaction, from one task."""

    def __init__(
        self,
        sessions: Callable[[], AsyncSession],
        single: Single,
        translate: Callable[[BaseException], BaseException | None],
        draw: Callable[[], str] = new_reference,
        writers: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._writers = writers or NoLock().held
        """Held around each transaction: SQLite's lock across processes (``db.writelock``)."""
        self._draw = draw
        self._single = single
        self._translate = translate
        """Maps a database error to the error callers get (None: not an outage, write alone)."""
        self._pending: list[tuple[dict[str, Any], asyncio.Future[str]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions written (with ``rows``: how much grouping happened)."""
        self.rows = 0

    async def submit(self, values: dict[str, Any]) -> str:
        """The reference of ``values``' submission, once its transaction has committed."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((values, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        # shield: a caller giving up (its timeout) must not cancel the batch's transaction
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(self, batch: list[tuple[dict[str, Any], asyncio.Future[str]]]) -> None:
        rows = [
            {"reference": self._draw(), **{k: v for k, v in values.items() if k != RECEIPT_KEY}}
            for values, _ in batch
        ]
        try:
            async with self._writers(), self._sessions() as session, session.begin():
                insert = _INSERTS_IGNORING_DUPLICATES[session.bind.dialect.name]
                await session.execute(insert, rows)
                keys = list({row["idempotency_key"] for row in rows})
                found = dict((await session.execute(_REFERENCES.where(_KEYS.in_(keys)))).all())
                # receipts ride in the same transaction (see sms.receipts)
                await enqueue_receipts(
                    session,
                    [
                        (found[key], values.get(RECEIPT_KEY))
                        for values, _ in batch
                        if (key := values["idempotency_key"]) in found
                    ],
                )
        except Exception as exc:  # every waiter must hear of it
            outage = self._translate(exc)
            for values, future in batch:
                if outage is not None:
                    _settle(future, error=outage)
                else:  # not an outage: some draft broke a rule; each tries alone
                    self._alone(values, future)
            return
        self.batches += 1
        self.rows += len(rows)
        for (values, future), row in zip(batch, rows, strict=True):
            reference = found.get(row["idempotency_key"])
            if reference is None:  # our reference collided with another row's: draw again
                self._alone(values, future)
            else:
                _settle(future, result=reference)

    def _alone(self, values: dict[str, Any], future: asyncio.Future[str]) -> None:
        task = asyncio.ensure_future(self._single(values))
        task.add_done_callback(lambda done: _settle_from(future, done))


def _settle(
    future: asyncio.Future[str], *, result: str | None = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result or "")


def _settle_from(future: asyncio.Future[str], done: asyncio.Future[str]) -> None:
    if future.done():
        return
    if done.cancelled():
        future.cancel()
    elif done.exception() is not None:
        future.set_exception(done.exception())  # type: ignore[arg-type]
    else:
        future.set_result(done.result())
