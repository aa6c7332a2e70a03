"""Session events written to SQL in batches, by a background task, never during a hop.

A hop only appends a tuple to an in-process buffer (no await). The task writes the buffer every
``flush_interval`` seconds, or sooner once ``batch_size`` events wait. The buffer is bounded: when
the database cannot keep up, new events are dropped and counted rather than eating memory or
slowing hops. Events are for reports, not for citizens' data: losing a few is acceptable.

On PostgreSQL through asyncpg a batch goes in as one binary ``COPY``: SQLAlchemy's executemany
processed every row's parameters in Python and sent a bind and an execute per row. On SQLite the
driver's executemany takes rows already converted. Other databases keep the Core executemany.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import logging
from collections import deque

from sqlalchemy import insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.engine import SQLITE_BUSY_TIMEOUT_MS
from ussd_gateway.adapters.db.models import SessionEvent
from ussd_gateway.adapters.observe.metrics import DEPENDENCY_ERRORS, EVENTS_DROPPED
from ussd_gateway.config.observability import EventSettings

log = logging.getLogger(__name__)

EVENTS_BUSY_TIMEOUT_MS = 100
"""How long the event writer waits for SQLite's write lock before trying at the next flush."""
MAX_BUSY_RETRIES = 30
"""Flushes put off in a row before a batch is dropped: the buffer must not grow without end."""


_TABLE = SessionEvent.__table__
_INSERT = insert(_TABLE)
"""A Core executemany, built once: the ORM's bulk insert cost ~0.3 ms of CPU per event."""
COLUMNS: tuple[str, ...] = ("session_id", "service", "provider", "kind", "screen", "reason", "at")
"""The columns an event fills, in the order of its tuple (``id`` comes from the table)."""
_SQLITE_INSERT = str(_INSERT.compile(dialect=sqlite.dialect(), column_keys=list(COLUMNS)))
"""The same insert with positional parameters, for the driver's own executemany."""

Event = tuple[str, str, str, str, str | None, str | None, dt.datetime]
"""One buffered event, in ``COLUMNS`` order: a tuple is cheaper to build than a dict."""

ENTERED = "-> "
"""A directory's ``screen`` event for a service entered from it: ``-> mrejesho`` (its funnel's
"chose a service" rows). A directory has one real screen, its list (``home``)."""
TO_DIRECTORY = "to_directory"
"""The ``end`` reason of a service's visit left for the directory it was entered from (``000``,
or ``0`` on its first screen); the session goes on in the directory."""


@functools.lru_cache(maxsize=16384)
def opaque_session_id(provider: str, session_id: str) -> str:
    """A stable id for a session that leads back to neither the aggregator's id nor the phone."""
    return hashlib.sha256(f"{provider}:{session_id}".encode()).hexdigest()[:32]


class EventRecorder:
    """Buffers session events and writes them in batches from its own task."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: EventSettings | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.settings = settings or EventSettings()
        self._pending: deque[Event] = deque()
        self._arrived = asyncio.Event()
        self._batch_ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.retried = 0
        """Consecutive flushes put off because SQLite was busy."""

    def record(
        self,
        *,
        session_id: str,
        service: str,
        provider: str,
        kind: str,
        screen: str | None = None,
        reason: str | None = None,
        at: dt.datetime | None = None,
    ) -> None:
        """Queue one event; never waits. Dropped (and counted) when the buffer is full."""
        if len(self._pending) >= self.settings.queue_size:
            EVENTS_DROPPED.labels("queue_full").inc()
            return
        if at is None:
            at = dt.datetime.now(dt.UTC)
        elif at.tzinfo is None:  # naive is UTC, as the column takes it
            at = at.replace(tzinfo=dt.UTC)
        self._pending.append((session_id, service, provider, kind, screen, reason, at))
        self._arrived.set()
        if len(self._pending) >= self.settings.batch_size:
            self._batch_ready.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="session-events")

    async def stop(self) -> None:
        """Stop the task and write what is still buffered.

        The task is asked to stop, not cancelled: a cancellation landing as its wait ends can
        be lost (``asyncio.wait_for`` on Python 3.11), and stop() would then wait forever.
        """
        if self._task is not None:
            for event in (self._stopping, self._arrived, self._batch_ready):
                event.set()
            await self._task
            self._task = None
        for _ in range(MAX_BUSY_RETRIES + 1):  # a batch busy too often is dropped
            if await self.flush():
                return
            await asyncio.sleep(0.05)

    async def _run(self) -> None:
        while not self._stopping.is_set():  # checked before each wait: flush() clears events
            await self._arrived.wait()
            await self._pause(self._batch_ready)  # a batch is ready, or the interval is over
            if self._stopping.is_set():
                return
            if not await self.flush():
                await self._pause(self._stopping)  # SQLite busy: let it be

    async def _pause(self, until: asyncio.Event) -> None:
        """Up to ``flush_interval``, less when ``until`` is set (stop() sets them all)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.flush_interval):
                await until.wait()

    async def flush(self) -> bool:
        """Write every buffered event now, in batches of ``batch_size``; False if put off.

        When SQLite's single write lock is taken (a citizen's submission is committing), the
        batch goes back to the buffer and waits for the next flush: submissions come first.
        """
        while self._pending:
            size = min(self.settings.batch_size, len(self._pending))
            batch = [self._pending.popleft() for _ in range(size)]
            if not await self._write(batch):
                self._pending.extendleft(reversed(batch))
                return False
        self._arrived.clear()
        self._batch_ready.clear()
        return True

    async def _write(self, batch: list[Event]) -> bool:
        """Insert ``batch``; False when the database is busy and the batch should wait."""
        try:
            async with self._sessionmaker() as session, session.begin():
                connection = await session.connection()
                if connection.dialect.driver == "asyncpg":
                    await _copy(connection, batch)
                elif connection.dialect.name == "sqlite":
                    await _sqlite_insert(connection, batch)
                else:
                    rows = [dict(zip(COLUMNS, row, strict=True)) for row in batch]
                    await session.execute(_INSERT, rows)
        except Exception as exc:
            if _busy(exc) and self.retried < MAX_BUSY_RETRIES:
                self.retried += 1
                return False
            # Reports lose these events; hops go on. The cause's type only: no row data.
            DEPENDENCY_ERRORS.labels("database").inc()
            EVENTS_DROPPED.labels("database").inc(len(batch))
            log.warning(
                "dropped %d session events: database refused them: %s",
                len(batch),
                type(exc).__name__,
            )
            self.retried = 0
            return True
        self.written += len(batch)
        self.retried = 0
        return True


async def _copy(connection: AsyncConnection, batch: list[Event]) -> None:
    """``COPY`` ``batch`` into the table on the connection's asyncpg driver (one round trip).

    asyncpg encodes the rows in C from the table's own column types, read once per connection.
    A refusal raises asyncpg's error as is: the caller drops and counts the batch either way.
    """
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(
        _TABLE.name, schema_name=_TABLE.schema, columns=COLUMNS, records=batch
    )


async def _sqlite_insert(connection: AsyncConnection, batch: list[Event]) -> None:
    """The driver's executemany of ``batch``, each time already in the column's stored text.

    SQLAlchemy's own executemany spent ~3 us of the event loop per row converting parameters;
    errors still come back wrapped (``_busy`` reads SQLite's code from them).
    """
    rows = [(*row[:6], sqlite_time(row[6])) for row in batch]
    # Given way to submissions: SQLite's write lock is waited for briefly, then the batch waits
    # for the next flush (the connection is the process's one: its own wait is restored after).
    await connection.exec_driver_sql(f"PRAGMA busy_timeout = {EVENTS_BUSY_TIMEOUT_MS}")
    try:
        await connection.exec_driver_sql(_SQLITE_INSERT, rows)
    finally:
        await connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


def sqlite_time(at: dt.datetime) -> str:
    """``at`` as SQLAlchemy stores a ``UTCDateTime`` on SQLite: naive UTC, always with
    microseconds (text compared as text by the reports' time ranges)."""
    return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _busy(error: BaseException) -> bool:
    """SQLite's write lock is held by another connection (SQLITE_BUSY or SQLITE_LOCKED)."""
    code = getattr(getattr(error, "orig", None), "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (5, 6)


def events_engine(engine: AsyncEngine) -> AsyncEngine:
    """The process's engine as events are written through it (and the scrape's figures read).

    On asyncpg in autocommit (the same pool, other execution options): a ``COPY`` is a
    transaction of its own, and the pool's check of a connection before use is then one round
    trip instead of three (``BEGIN``, ping, ``ROLLBACK``) per flush. Other databases keep
    transactions: an executemany in autocommit would commit (and, on SQLite, sync) every row.
    """
    if engine.dialect.driver == "asyncpg":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine
