"""Session stores: where a journey's state lives between hops."""

from __future__ import annotations

import redis.asyncio as aioredis

from ussd_gateway.adapters.sessions.base import (
    Arrival,
    KeyBuilder,
    SessionBusy,
    SessionStore,
    StoreUnavailable,
    Transaction,
)
from ussd_gateway.adapters.sessions.memory import MemorySessionStore
from ussd_gateway.adapters.sessions.redis import RedisSessionStore

__all__ = [
    "Arrival",
    "KeyBuilder",
    "MemorySessionStore",
    "RedisSessionStore",
    "SessionBusy",
    "SessionStore",
    "StoreUnavailable",
    "Transaction",
    "create_store",
]


async def create_store(
    redis_url: str | None, *, ttl: float, resume_window: float, single_trip: bool = True
) -> SessionStore:
    """The configured store: Redis when a URL is given, else in-process memory.

    Short socket timeouts keep a dead Redis from eating the aggregator's reply deadline. The
    store owns the client and closes it in ``close()``. Nothing is contacted here; call
    ``ping()`` to fail fast at start-up.
    """
    if not redis_url:
        return MemorySessionStore(ttl=ttl, resume_window=resume_window)
    client = aioredis.from_url(
        redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
    )
    return RedisSessionStore(
        client=client,
        ttl=ttl,
        resume_window=resume_window,
        owns_client=True,
        single_trip=single_trip,
    )
