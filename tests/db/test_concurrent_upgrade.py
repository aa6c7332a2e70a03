"""Several processes starting at once on a brand-new SQLite file all migrate it, none fails.

``serve --workers N`` does exactly this; SQLite then sometimes answers "database is locked" at
once (a lock upgrade it refuses to wait for), which used to stop a worker and the whole server.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect

from tests.conftest import ROOT
from ussd_gateway.adapters.db import engine as engine_module
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.migrate import upgrade

UPGRADE = """
import asyncio, sys
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.migrate import upgrade

async def main() -> None:
    engine = create_engine(sys.argv[1])
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()

asyncio.run(main())
"""


def test_processes_upgrading_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    for round_ in range(4):
        url = f"sqlite+aiosqlite:///{tmp_path / f'new-{round_}.db'}"
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", UPGRADE, url],
                cwd=ROOT,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for process in processes:
            _, err = process.communicate(timeout=60)
            assert process.returncode == 0, err[-600:]


async def test_upgrade_waits_out_a_lock_held_past_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the file longer than SQLite's busy wait: try again, not fail."""
    path = tmp_path / "held.db"
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.8, lambda: holder.execute("COMMIT"))
    release.start()
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "submissions" in tables
    finally:
        release.join()
        holder.close()
        await engine.dispose()
