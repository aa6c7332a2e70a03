"""Async engines for PostgreSQL (production) and SQLite (small deployments, development)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite writer waits for another writer instead of failing with "locked"."""

_ASYNC_DRIVERS: dict[str, str] = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def normalise_url(url: str) -> str:
    """Give driverless URLs their async driver, so operators can paste what their host gives them.

    ``postgres://`` and ``postgresql://`` become ``postgresql+asyncpg://``; ``sqlite://`` becomes
    ``sqlite+aiosqlite://``; anything naming a driver already is left alone.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    driver = _ASYNC_DRIVERS.get(scheme.lower())
    return f"{driver}://{rest}" if driver else url


def default_database_url() -> str:
    """A SQLite file under ``var/`` (relative to the working directory): zero set-up to try it."""
    return "sqlite+aiosqlite:///var/gateway.db"


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names; None for other databases, ``:memory:`` and ``file:`` URIs."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def create_engine(url: str, *, connect_timeout: float = 5.0, **kwargs: Any) -> AsyncEngine:
    """Create an async engine for ``url`` (normalised first).

    SQLite: creates the file's directory, and on every connection turns on WAL (readers do not
    block the writer), a busy timeout (concurrent writers wait instead of failing) and foreign
    keys. PostgreSQL: connections are pinged before use so a database restart costs no request,
    and connecting gives up after ``connect_timeout`` seconds instead of asyncpg's 60.
    Statement parameters are kept out of error messages and logs (``hide_parameters``): they
    hold citizens' numbers and answers. Extra keyword arguments go to SQLAlchemy's
    ``create_async_engine``.
    """
    parsed = make_url(normalise_url(url))
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if (path := sqlite_file(parsed)) is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        if database and database != ":memory:" and "poolclass" not in kwargs:
            # SQLite has one writer: a second pooled connection wanting to write would wait in
            # SQLite's busy handler, which sleeps up to 100 ms at a time (p99 of a second under
            # load). One connection makes writers of this process queue without sleeping.
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
        engine = _create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    if parsed.get_driver_name() == "asyncpg":
        kwargs["connect_args"] = {"timeout": connect_timeout, **kwargs.get("connect_args", {})}
    kwargs.setdefault("pool_pre_ping", True)
    return _create_async_engine(parsed, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no surprise reload after the fact)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock another connection may hold.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()
