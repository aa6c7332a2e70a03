"""The outbox worker: claims due items, sends them concurrently, records each attempt.

One loop for every outbox; a :class:`Sender` says how one item is claimed, sent and recorded.
Runs as ``ussd-gateway worker`` or inside ``serve`` (``http.outbox``). Sending is
at-least-once: a worker that dies mid-attempt loses its lease and the item is tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.models import utcnow
from ussd_gateway.adapters.outbox.queue import Clock, Leased, Queue, Table

Item = TypeVar("Item", bound=Leased)
Result = TypeVar("Result")


def worker_id() -> str:
    """Host, process and a random suffix: unique even for two workers in one process."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def error_line(exc: BaseException) -> str:
    """An exception as one short line for logs and ``last_error``."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


class Polling(Protocol):
    poll_interval: float
    batch_size: int
    concurrency: int


@dataclass(frozen=True)
class Pace:
    """How a worker claims and paces work."""

    poll_interval: float
    """Seconds between looks for due items when idle: how fast new work starts."""
    batch_size: int
    concurrency: int
    """Attempts in flight at once."""
    lease: float
    """Seconds a claimed item stays reserved unless renewed: a killed worker's items come back
    after it; the worker renews it every third of it while the attempt is in flight."""
    shutdown_grace: float
    """Seconds a stop waits for attempts in flight before releasing their leases."""

    @classmethod
    def of(cls, polling: Polling, *, lease: float, shutdown_grace: float) -> Pace:
        return cls(
            polling.poll_interval, polling.batch_size, polling.concurrency, lease, shutdown_grace
        )


class Sender(ABC, Generic[Item, Result]):
    """What differs between outboxes: how items are claimed, sent, recorded and logged."""

    kind: str
    """What it sends, for task names and crash reports ("delivery", "SMS")."""
    log: logging.Logger
    table: Table
    pace: Pace

    async def open(self, wake: Callable[[], None]) -> None:
        """Get ready to send (a mistake stops start-up); ``wake`` says more work is due now."""

    async def close(self) -> None:
        """Give back what ``open`` took."""

    async def started(self, queue: Queue, worker: str) -> None:
        """Say what the worker will do, and warn about what it cannot."""

    def stopped(self, worker: str, stats: Counter[str]) -> None:
        """Sum up when the worker stops."""

    @abstractmethod
    def label(self, worker: str) -> str:
        """How the worker is named in its log lines."""

    @abstractmethod
    async def claim(self, queue: Queue, worker: str, limit: int) -> Sequence[Item]: ...

    @abstractmethod
    async def send(self, item: Item) -> Result:
        """One attempt; trouble on the other side is reported in the result, not raised."""

    @abstractmethod
    def raised(self, item: Item, exc: Exception) -> Result:
        """The result standing for a ``send`` that raised (a bug must not lose the item)."""

    @abstractmethod
    async def record(
        self, queue: Queue, item: Item, result: Result, worker: str, started: dt.datetime
    ) -> str:
        """Store the attempt; the item's new status."""

    @abstractmethod
    def key(self, item: Item) -> str:
        """The item in a log line (no personal data)."""

    @abstractmethod
    def report(self, item: Item, result: Result, status: str) -> None:
        """Log the attempt's line."""


class Worker(Generic[Item, Result]):
    """One worker loop over one outbox table. ``run()`` until ``stop()``; attempts in flight
    are bounded. ``clock``: what due times, leases and ages are measured with."""

    def __init__(
        self,
        sender: Sender[Item, Result],
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        name: str | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.sender = sender
        self.queue = Queue(sessionmaker, sender.table, clock)
        self.name = name or worker_id()
        self.stats: Counter[str] = Counter()
        """Claimed items, and attempts by the status they left their item in."""
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: dict[asyncio.Task[None], Item] = {}
        self._opened = False

    def stop(self) -> None:
        """Stop claiming; ``run`` then finishes or releases what it holds and returns."""
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """New work may be due: look now instead of at the next poll."""
        self._wake.set()

    async def open(self) -> None:
        """Get the sender ready now, so a configuration mistake stops start-up."""
        if not self._opened:
            await self.sender.open(self.wake)
            self._opened = True

    async def run(self) -> None:
        await self.open()
        sender = self.sender
        await sender.started(self.queue, self.name)
        renewing = asyncio.create_task(self._renew(), name=f"{sender.kind.lower()}-leases")
        try:
            await self._loop()
        finally:
            try:
                await self._shutdown()
            finally:
                renewing.cancel()
                await asyncio.gather(renewing, return_exceptions=True)
            with contextlib.suppress(Exception):
                await sender.close()
            self._opened = False
        sender.stopped(self.name, self.stats)

    async def _loop(self) -> None:
        pace = self.sender.pace
        while not self._stopping.is_set():
            self._wake.clear()  # set again by a finished attempt or by wake()
            free = pace.concurrency - len(self._tasks)
            limit = min(free, pace.batch_size)
            claimed: Sequence[Item] = ()
            if free > 0:
                try:
                    claimed = await self.sender.claim(self.queue, self.name, limit)
                except Exception as exc:  # database away: keep the loop, try again later
                    self._warn("%s cannot claim: %s", error_line(exc))
                    await self._sleep(min(5.0, pace.poll_interval * 4))
                    continue
            for item in claimed:
                task = asyncio.create_task(self._attempt(item))
                self._tasks[task] = item
                task.add_done_callback(self._done)
            self.stats["claimed"] += len(claimed)
            if claimed and len(claimed) == limit:
                await asyncio.sleep(0)  # more may be due: claim again at once if slots are free
                if len(self._tasks) < pace.concurrency:
                    continue
            await self._sleep(pace.poll_interval)

    async def _sleep(self, seconds: float) -> None:
        # not wait_for: on 3.11 it can swallow a cancellation that races the wake-up
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def _renew(self) -> None:
        """Keep the leases of attempts in flight, every third of a lease: a slow backend does
        not lose its item to another worker, however short the lease."""
        lease = self.sender.pace.lease
        while True:
            await asyncio.sleep(lease / 3)
            held = [item.id for item in self._tasks.values()]
            if not held:
                continue
            try:
                await self.queue.renew(self.name, held, lease)
            except Exception as exc:  # database away: the attempt goes on; the lease may lapse
                self._warn("%s cannot renew %d lease(s): %s", len(held), error_line(exc))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._wake.set()  # a slot is free

    async def _attempt(self, item: Item) -> None:
        sender = self.sender
        started = self.queue.now()
        try:
            result = await sender.send(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            result = sender.raised(item, exc)
        try:
            status = await sender.record(self.queue, item, result, self.name, started)
        except Exception as exc:  # cannot write: the lease runs out and it is tried again
            self._warn("%s cannot record %s: %s", sender.key(item), error_line(exc))
            return
        self.stats[status] += 1
        sender.report(item, result, status)

    async def _shutdown(self) -> None:
        """Let attempts in flight finish within the grace period, then release the rest."""
        if not self._tasks:
            return
        _, still = await asyncio.wait(set(self._tasks), timeout=self.sender.pace.shutdown_grace)
        held = [self._tasks[task].id for task in still if task in self._tasks]
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)
        if not held:
            return
        try:
            await self.queue.release(self.name, held)
        except Exception as exc:
            self._warn("%s could not release leases (they expire): %s", exc)
            return
        self.sender.log.info("%s released %d lease(s)", self.sender.label(self.name), len(held))

    def _warn(self, message: str, *args: Any) -> None:
        self.sender.log.warning(message, self.sender.label(self.name), *args)


async def run_together(workers: Sequence[Worker[Any, Any]]) -> None:
    """Run ``workers`` until they stop; one failing (a configuration mistake) stops the others,
    and its error is raised once all have stopped."""
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for worker in workers:
        worker.stop()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result
