"""Real SQL databases for tests: a fresh SQLite file, and PostgreSQL when TEST_DATABASE_URL is set.

Every test using ``database_url`` (or ``db``) runs once per database and gets a database of its
own: a new file in ``tmp_path``, or a new PostgreSQL database created through the server named by
``TEST_DATABASE_URL`` and dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker, normalise_url
from ussd_gateway.adapters.db.migrate import upgrade

TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"


@dataclass(frozen=True, slots=True)
class Database:
    """A migrated database: its URL, an engine and a sessionmaker bound to it."""

    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _postgresql_database(server_url: str) -> AsyncIterator[str]:
    admin_url = make_url(normalise_url(server_url))
    name = f"ussd_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(
        admin_url.render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of an empty database of its own, once per kind of database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "gateway.db")
        return
    server_url = os.environ.get(TEST_DATABASE_URL_ENV)
    if not server_url:
        pytest.skip(f"PostgreSQL tests need {TEST_DATABASE_URL_ENV}")
    async for url in _postgresql_database(server_url):
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The ``database_url`` database, migrated to head, with an engine disposed afterwards."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        yield Database(url=database_url, engine=engine, sessionmaker=create_sessionmaker(engine))
    finally:
        await engine.dispose()
