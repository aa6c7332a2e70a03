"""Group commit: submissions arriving together share one transaction, hence one durable sync.

SQLite has one writer, and a durable commit waits for the disk: one transaction per submission
makes the others queue behind each sync. On PostgreSQL a transaction per submission costs a
pool checkout (with its ping), BEGIN, INSERT and COMMIT round trips, and a WAL flush each.
Here a submission waits exactly as before until its row is committed, but every submission
that arrived while the previous transaction was committing goes into the next one. Nothing is
acknowledged earlier than before; an idle gateway writes a batch of one at once (no timer, no
added latency).

Idempotency holds per row: one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING
idempotency_key, reference`` says which drafts got their own row; only the keys it did not
return (a retried hop, a duplicate in the batch, a reference collision: rare) are looked up
(after it: a key that conflicted is on a committed row), so each draft gets the reference
stored for its key, its own or the first one's. A row the batch could not take (a reference
collision, a broken draft) is written alone by the caller's single-submission path, so one bad
draft fails alone.

Round trips, because on a saturated event loop each one is a turn of the loop every waiter
pays: on PostgreSQL a batch without receipts is that one statement, run in autocommit (a single
statement is its own transaction, committed when it answers); with receipts it is BEGIN, the
INSERT, the receipts' INSERT, COMMIT (one transaction for both). The connection is
kept from one batch to the next while submissions keep coming, and ``LINGER`` after (under
load the queue empties between batches all the time), instead of a checkout per batch whose
ping costs asyncpg three round trips; a kept connection found dead (a database restart) is
replaced once and the batch written again, as the ping would have done. SQLite's one pooled
connection goes back after each batch (everyone else needs it), and each batch is the INSERT
(and the receipts') then COMMIT, under the writers' lock across processes (``db.writelock``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.adapters.db.writelock import NoLock
from ussd_gateway.adapters.outbox.enqueue import enqueue_in
from ussd_gateway.domain.references import new_reference
from ussd_gateway.domain.submissions import SmsReceipt

log = logging.getLogger(__name__)

MAX_BATCH = 200
"""Rows per transaction at most (well under SQLite's bound-parameter limit, and one statement:
SQLAlchemy splits a multi-row insert only past 1,000 rows)."""

LINGER = 0.1
"""Seconds the writer keeps its connection (PostgreSQL) after the queue empties, for more."""

CLOSE_WAIT = 5.0
"""Seconds ``close`` waits for a batch being written."""

RECEIPT_KEY = "_sms_receipt"
"""Where a submission's receipt rides along with its column values until it is written."""

_TABLE = Submission.__table__
_KEYS = _TABLE.c.idempotency_key
_INSERTS_RETURNING_NEW = {
    "sqlite": sqlite_insert(_TABLE).on_conflict_do_nothing().returning(_KEYS, _TABLE.c.reference),
    "postgresql": postgresql_insert(_TABLE)
    .on_conflict_do_nothing()
    .returning(_KEYS, _TABLE.c.reference),
}
"""Inserted rows only: a key or reference already stored makes its row return nothing."""
DIALECTS = frozenset(_INSERTS_RETURNING_NEW)
"""Databases group commit speaks to (their ``INSERT … ON CONFLICT DO NOTHING RETURNING``)."""
_STORED = select(_KEYS, _TABLE.c.reference).where(_KEYS.in_(bindparam("keys", expanding=True)))
"""The references stored under the keys the insert did not return, built once."""

Single = Callable[[dict[str, Any]], Awaitable[str]]
"""The one-submission path: writes ``values`` in a transaction of its own, returns the reference."""
Batch = list[tuple[dict[str, Any], asyncio.Future[str]]]


class GroupCommit:
    """Queues submissions and writes each queue-full in one transaction, from one task."""

    def __init__(
        self,
        engine: Callable[[], AsyncEngine],
        single: Single,
        translate: Callable[[BaseException], BaseException | None],
        draw: Callable[[], str] = new_reference,
        writers: Callable[[], AbstractAsyncContextManager[None]] | None = None,
        linger: float | None = None,
    ) -> None:
        self._engine = engine
        """The engine to connect with, asked at each checkout (the store's, as it is now)."""
        self._writers = writers or NoLock().held
        """Held around each transaction: SQLite's lock across processes (``db.writelock``)."""
        self._draw = draw
        self._single = single
        self._translate = translate
        """Maps a database error to the error callers get (None: not an outage, write alone)."""
        self._pending: Batch = []
        self._writer: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None
        """The kept connection, while the writer drains batches (or lingers for more)."""
        self._linger = LINGER if linger is None else linger
        self._lingering: asyncio.Future[None] | None = None
        self.batches = 0
        """Transactions written (with ``rows``: how much grouping happened)."""
        self.rows = 0

    async def submit(self, values: dict[str, Any]) -> str:
        """The reference of ``values``' submission, once its transaction has committed."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((values, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        elif self._lingering is not None:  # the writer waits with its connection: wake it
            _wake(self._lingering)
        # shield: a caller giving up (its timeout) must not cancel the batch's transaction
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Stop lingering and give the connection back; a batch being written finishes first."""
        self._linger = 0
        if self._lingering is not None:
            _wake(self._lingering)
        if self._writer is not None:  # bounded: a hung database must not hang the shutdown
            await asyncio.wait([self._writer], timeout=CLOSE_WAIT)

    async def _drain(self) -> None:
        try:
            while True:
                while self._pending:
                    batch = self._pending[:MAX_BATCH]
                    del self._pending[:MAX_BATCH]
                    await self._write(batch)
                if self._connection is None:
                    break
                await self._linger_for_more()
                if not self._pending:  # checked with no await before the writer is gone
                    break
        finally:
            self._writer = None
            await self._release()  # idle: the pool's ping guards the next checkout

    async def _linger_for_more(self) -> None:
        """Wait with the connection until a submission arrives or ``linger`` has passed: under
        steady load the queue empties between batches all the time, and each new checkout
        would cost a ping. A submission may arrive after the timer ended the wait but before
        this task resumes: the caller looks at ``_pending``, not at how the wait ended."""
        loop = asyncio.get_running_loop()
        self._lingering = waker = loop.create_future()
        timer = loop.call_later(self._linger, _wake, waker)
        try:
            await waker
        finally:
            timer.cancel()
            self._lingering = None

    async def _write(self, batch: Batch) -> None:
        rows = []
        receipts: list[SmsReceipt | None] = []
        for values, _ in batch:
            row = values.copy()
            receipts.append(row.pop(RECEIPT_KEY, None))
            row["reference"] = self._draw()
            rows.append(row)
        try:
            async with self._writers():
                found = await self._commit(rows, receipts)
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

    async def _commit(
        self, rows: list[dict[str, Any]], receipts: list[SmsReceipt | None]
    ) -> dict[str, str]:
        """Each key's stored reference, once committed; on a kept connection found dead, once
        more on a new one (the write is idempotent, so a commit that did land is found)."""
        kept = self._connection is not None
        try:
            connection = self._connection or await self._connect()
            found = await self._statements(connection, rows, receipts)
        except BaseException as error:
            await self._release()  # its state is unknown: back to the pool (or invalidated)
            if not (kept and _dropped(error)):
                raise
            log.warning("kept submissions connection was closed; writing on a new one")
            return await self._commit(rows, receipts)
        if connection.dialect.name == "sqlite":  # its only pooled connection: others need it
            await self._release()
        return found

    async def _statements(
        self,
        connection: AsyncConnection,
        rows: list[dict[str, Any]],
        receipts: list[SmsReceipt | None],
    ) -> dict[str, str]:
        autocommit = _autocommits(connection)
        if autocommit and not any(receipts):
            found = await self._stored(connection, rows)
            await connection.commit()  # autocommit: bookkeeping only, nothing sent
            return found
        if autocommit:  # a real transaction for the receipts, then back
            await connection.execution_options(isolation_level=connection.default_isolation_level)
        try:
            async with connection.begin():
                found = await self._stored(connection, rows)
                # receipts ride in the same transaction: they exist exactly when it does
                await enqueue_in(
                    connection,
                    [
                        receipt.message(found[key])
                        for row, receipt in zip(rows, receipts, strict=True)
                        if receipt is not None and (key := row["idempotency_key"]) in found
                    ],
                )
        finally:
            if autocommit and not connection.invalidated and not connection.closed:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
        return found

    async def _stored(
        self, connection: AsyncConnection, rows: list[dict[str, Any]]
    ) -> dict[str, str]:
        insert = _INSERTS_RETURNING_NEW[connection.dialect.name]
        found: dict[str, str] = dict((await connection.execute(insert, rows)).all())
        missing = [row["idempotency_key"] for row in rows if row["idempotency_key"] not in found]
        if missing:  # stored before (a retried hop, a duplicate), or our reference collided
            found.update((await connection.execute(_STORED, {"keys": missing})).all())
        return found

    def _alone(self, values: dict[str, Any], future: asyncio.Future[str]) -> None:
        task = asyncio.ensure_future(self._single(values))
        task.add_done_callback(lambda done: _settle_from(future, done))

    async def _connect(self) -> AsyncConnection:
        connection = await self._engine().connect()
        self._connection = connection
        if _autocommits(connection):
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    async def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.close()
        except Exception:  # a dead connection: the pool has already let it go
            log.debug("closing the submissions connection failed", exc_info=True)


def _autocommits(connection: AsyncConnection) -> bool:
    """Whether batches without receipts run as a lone statement in autocommit (PostgreSQL)."""
    return connection.dialect.name == "postgresql"


def _dropped(error: BaseException) -> bool:
    """Whether ``error`` says the connection itself is gone (not the statement wrong)."""
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
