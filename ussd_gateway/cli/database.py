"""The database as an operator's command opens it: migrated first, as ``serve`` would, so a
fresh machine needs no separate step, and closed before the command prints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def on_database(database_url: str, action: Callable[[Any], Awaitable[T]]) -> T:
    """``action(sessionmaker)`` on the migrated database, the engine disposed afterwards."""
    from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
    from ussd_gateway.adapters.db.migrate import upgrade

    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        return await action(create_sessionmaker(engine))
    finally:
        await engine.dispose()
