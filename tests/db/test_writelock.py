"""The cross-process writers' lock beside a SQLite file (``db.writelock``)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.submissions.test_group_commit import engine  # noqa: F401 - fixture
from tests.submissions.test_store import draft, fetch_rows
from tests.support.databases import sqlite_url
from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.writelock import FileWriteLock, NoLock, writers_lock
from ussd_gateway.adapters.submissions.store import SubmissionStore

TRY_LOCK = (
    "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
    "try:\n fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
    "except BlockingIOError:\n print('taken')"
)


def other_process_sees(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(path)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


async def test_another_process_cannot_write_while_the_lock_is_held(tmp_path: Path) -> None:
    lock = FileWriteLock(tmp_path / "db-writers.lock")
    async with lock.held():
        assert await asyncio.to_thread(other_process_sees, lock.path) == "taken"
    assert await asyncio.to_thread(other_process_sees, lock.path) == "free"


async def test_a_waiting_writer_gets_the_lock_when_the_holder_lets_go(tmp_path: Path) -> None:
    """Two descriptors exclude each other like two processes; the waiter never overlaps."""
    path = tmp_path / "db-writers.lock"
    first, second = FileWriteLock(path), FileWriteLock(path)
    order: list[str] = []

    async def wait_for_it() -> None:
        async with second.held():
            order.append("second in")

    async with first.held():
        order.append("first in")
        waiter = asyncio.create_task(wait_for_it())
        for _ in range(20):  # let the waiter reach its blocking flock
            await asyncio.sleep(0)
        assert not waiter.done()
        order.append("first out")
    await waiter
    assert order == ["first in", "first out", "second in"]


async def test_a_cancelled_wait_leaves_the_lock_free_for_others(tmp_path: Path) -> None:
    path = tmp_path / "db-writers.lock"
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    lock = FileWriteLock(path)
    entering = asyncio.create_task(lock.held().__aenter__())
    await asyncio.sleep(0.05)
    entering.cancel()
    await asyncio.gather(entering, return_exceptions=True)
    fcntl.flock(holder, fcntl.LOCK_UN)
    os.close(holder)
    for _ in range(100):  # the cancelled wait's thread takes the lock, then gives it back
        if await asyncio.to_thread(other_process_sees, path) == "free":
            break
        await asyncio.sleep(0.02)
    assert await asyncio.to_thread(other_process_sees, path) == "free"


def test_only_sqlite_files_get_a_file_lock(tmp_path: Path) -> None:
    sqlite = create_engine(sqlite_url(tmp_path / "gateway.db"))
    lock = writers_lock(sqlite)
    assert isinstance(lock, FileWriteLock)
    assert lock.path == tmp_path / "gateway.db-writers.lock"
    memory = create_engine("sqlite+aiosqlite:///:memory:")
    assert isinstance(writers_lock(memory), NoLock)
    postgres = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    assert isinstance(writers_lock(postgres), NoLock)


async def test_two_stores_on_one_file_commit_every_submission(
    engine: AsyncEngine,  # noqa: F811 - the fixture
) -> None:
    """As two ``--workers`` children do: each its own engine, one file, one writers' lock."""
    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        stores = [SubmissionStore(sessionmaker=create_sessionmaker(e)) for e in (engine, other)]
        references = await asyncio.gather(
            *(stores[i % 2].submit(draft(f"s{i}:submit")) for i in range(40))
        )
    finally:
        await other.dispose()
    assert len(set(references)) == 40
    rows = await fetch_rows(engine.url.render_as_string(hide_password=False))
    assert sorted(r["reference"] for r in rows) == sorted(references)


async def test_a_submission_waits_for_another_process_holding_the_lock(
    engine: AsyncEngine,  # noqa: F811 - the fixture
) -> None:
    store = SubmissionStore(sessionmaker=create_sessionmaker(engine))
    path = Path(f"{engine.url.database}-writers.lock")
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        submitting = asyncio.create_task(store.submit(draft("waits:submit")))
        await asyncio.sleep(0.1)
        assert not submitting.done()
        assert await store.count() == 0
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    assert await submitting
    assert await store.count() == 1
