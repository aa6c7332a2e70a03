"""Apply the Alembic migrations shipped inside the package, at start-up, without alembic.ini.

Every process calls :func:`upgrade` when it starts; it is a no-op when the schema is current.
Concurrent starts are serialised by the database itself: a transaction-scoped advisory lock on
PostgreSQL, ``BEGIN IMMEDIATE`` (the write lock) on SQLite. The whole upgrade is one transaction
on both, so a crash half-way leaves the previous schema. Within one process upgrades also take
turns, because Alembic keeps the running migration in module globals (``alembic.context``/``op``).
"""

from __future__ import annotations

import asyncio
import random
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

MIGRATION_LOCK_ID = 0x55_53_53_44_DB_01
"""Key of the PostgreSQL advisory lock held while migrating ("USSD" + 0xDB01; any fixed bigint)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations; works from an installed wheel.

    With ``connection``, ``env.py`` migrates through it (inside the caller's transaction).
    """
    config = Config()
    # Config values go through configparser interpolation: a "%" in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision the code expects the database to be at."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def lock_for_migrations(connection: Connection) -> None:
    """Hold the migration lock until the transaction ends, so only one process migrates.

    Taken before Alembic reads the version table, so the second process waits, then finds the
    schema current and does nothing.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_ID})
    elif connection.dialect.name == "sqlite":
        # pysqlite does not open a transaction before DDL by itself: open one that holds the
        # write lock now (waiting up to busy_timeout for another migrating process).
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_in_process_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


SQLITE_LOCKED_RETRIES = 20
"""Tries of a SQLite upgrade that found the file locked (``serve --workers N`` on a new file)."""


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the latest revision; safe to call from every process at start-up.

    SQLite answers "database is locked" at once, without waiting in its busy handler, when two
    processes would deadlock (both opening a brand-new file: one switching it to WAL while the
    other holds its read lock). The upgrade is one transaction, so it is simply tried again.
    """
    lock = _in_process_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    for attempt in range(SQLITE_LOCKED_RETRIES):
        try:
            async with lock, engine.begin() as connection:
                await connection.run_sync(_do_upgrade)
            return
        except OperationalError as exc:
            locked = engine.dialect.name == "sqlite" and "locked" in str(exc.orig)
            if not locked or attempt == SQLITE_LOCKED_RETRIES - 1:
                raise
        await asyncio.sleep(0.05 * (attempt + 1) * (0.5 + random.random()))


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None before the first upgrade), e.g. for health checks."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def _do_upgrade(connection: Connection) -> None:
    lock_for_migrations(connection)
    command.upgrade(alembic_config(connection), "head")
