"""Session stores: where a journey's state lives between hops."""

from __future__ import annotations

from ussd_gateway.adapters.redis.client import connect
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


async def create_store(redis_url: str | None, *, ttl: float, resume_window: float) -> SessionStore:
    """The configured store on a client of its own: Redis when a URL is given, else in-process
    memory. Nothing is contacted here; call ``ping()`` to fail fast at start-up. (Servers build
    their store on the process's one client instead: ``application.factory``.)"""
    if not redis_url:
        return MemorySessionStore(ttl=ttl, resume_window=resume_window)
    return RedisSessionStore(
        client=connect(redis_url), ttl=ttl, resume_window=resume_window, owns_client=True
    )
