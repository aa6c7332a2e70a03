"""One writer at a time across processes for a SQLite file, woken as soon as the file is free.

With ``serve --workers N`` on SQLite, each process has its own connection to the same file. A
writer finding the file locked waits in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms
between tries while the other process's back-to-back group commits keep taking the lock: p99 of
0.4-1.3 s under load (docs/performance.md). Writers that take this ``flock`` first queue in the
kernel instead and are woken the moment the holder lets go; the busy handler is then rarely
reached. An uncontended lock costs one non-blocking ``flock`` call; a contended one waits in a
thread, never on the event loop. It only spares sleeps: SQLite's own locking still keeps
writes correct whenever this lock is not held (another tool, a cancelled wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from ussd_gateway.adapters.db.engine import sqlite_file


class FileWriteLock:
    """An exclusive ``flock`` on ``path``, for the tasks of this process one at a time.

    The file is opened lazily in the process that uses it: a descriptor inherited across
    ``fork`` would share its lock with the parent and exclude nothing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0
        self._local: asyncio.Lock | None = None

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
            self._local = None
        return self._fd

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        fd = self._descriptor()
        if self._local is None:
            self._local = asyncio.Lock()
        async with self._local:  # one waiting thread per process at most
            await _lock(fd)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


async def _lock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        # the thread goes on waiting: whenever it gets the lock, give it back at once
        waiting.add_done_callback(lambda done: _unlock_if_taken(fd, done))
        raise


def _unlock_if_taken(fd: int, done: asyncio.Future[Any]) -> None:
    if not done.cancelled() and done.exception() is None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class NoLock:
    """Databases that queue their writers themselves (PostgreSQL, in-memory SQLite)."""

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        yield


def writers_lock(bind: Any) -> FileWriteLock | NoLock:
    """A ``FileWriteLock`` beside a SQLite file database (``<file>-writers.lock``), else none."""
    url = getattr(bind, "url", None)
    path = None if url is None else sqlite_file(make_url(url))
    if path is None:
        return NoLock()
    return FileWriteLock(Path(f"{path}-writers.lock"))
