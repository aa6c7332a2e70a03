"""Alembic environment: migrate through the caller's connection, or a URL for the alembic CLI.

At start-up :func:`ussd_gateway.db.migrate.upgrade` passes its connection in
``config.attributes["connection"]``. Developers running ``alembic -c ussd_gateway/db/alembic.ini``
get the URL from ``DATABASE_URL`` (or ``sqlalchemy.url``), defaulting to the gateway's own.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, pool

from ussd_gateway.adapters.db.engine import create_engine, default_database_url, normalise_url
from ussd_gateway.adapters.db.migrate import lock_for_migrations
from ussd_gateway.adapters.db.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None:  # the alembic CLI; never at start-up (app owns logging)
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    return normalise_url(url or default_database_url())


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: future migrations must use batch operations there.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lock_for_migrations)
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    asyncio.run(_run_with_own_engine())
