"""Session events written to SQL in batches, by a background task, never during a hop.

A hop only appends to an in-process buffer (no await). The task writes the buffer every
``flush_interval`` seconds, or sooner once ``batch_size`` events wait. The buffer is bounded: when
the database cannot keep up, new events are dropped and counted rather than eating memory or
slowing hops. Events are for reports, not for citizens' data: losing a few is acceptable.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.db.models import SessionEvent
from ussd_gateway.metrics import DEPENDENCY_ERRORS, EVENTS_DROPPED

log = logging.getLogger(__name__)


def opaque_session_id(provider: str, session_id: str) -> str:
    """A stable id for a session that leads back to neither the aggregator's id nor the phone."""
    return hashlib.sha256(f"{provider}:{session_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class EventSettings:
    """``observability.session_events`` … in config/gateway.yaml."""

    enabled: bool = True
    flush_interval: float = 1.0
    batch_size: int = 200
    queue_size: int = 10_000


class EventRecorder:
    """Buffers session events and writes them in batches from its own task."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: EventSettings | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.settings = settings or EventSettings()
        self._pending: deque[dict[str, Any]] = deque()
        self._arrived = asyncio.Event()
        self._batch_ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.written = 0

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
        self._pending.append(
            {
                "session_id": session_id,
                "service": service,
                "provider": provider,
                "kind": kind,
                "screen": screen,
                "reason": reason,
                "at": at or dt.datetime.now(dt.UTC),
            }
        )
        self._arrived.set()
        if len(self._pending) >= self.settings.batch_size:
            self._batch_ready.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="session-events")

    async def stop(self) -> None:
        """Stop the task and write what is still buffered."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._batch_ready.wait(), self.settings.flush_interval)
            await self.flush()

    async def flush(self) -> None:
        """Write every buffered event now, in batches of ``batch_size``."""
        while self._pending:
            size = min(self.settings.batch_size, len(self._pending))
            batch = [self._pending.popleft() for _ in range(size)]
            await self._write(batch)
        self._arrived.clear()
        self._batch_ready.clear()

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            async with self._sessionmaker() as session, session.begin():
                await session.execute(insert(SessionEvent), batch)
        except Exception as exc:
            # Reports lose these events; hops go on. The cause's type only: no row data.
            DEPENDENCY_ERRORS.labels("database").inc()
            EVENTS_DROPPED.labels("database").inc(len(batch))
            log.warning(
                "dropped %d session events: database refused them: %s",
                len(batch),
                type(exc).__name__,
            )
            return
        self.written += len(batch)
