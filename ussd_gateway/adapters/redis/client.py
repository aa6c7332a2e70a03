"""The process's one Redis client: short timeouts, so a dead Redis ends a hop politely in time.

Every component that uses Redis (sessions, the guard's counters, the reload broadcast) gets this
client from the application factory; none opens its own.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

TIMEOUT = 0.5
"""Seconds a connect or a command may take: well inside an aggregator's reply deadline."""


def connect(url: str) -> aioredis.Redis:
    """A client for ``url``; nothing is contacted until the first command.

    Commands are timed by their callers (``asyncio.timeout(TIMEOUT)``), not by the socket: with a
    socket timeout redis-py runs every write as a task of its own and times every read, which
    under load cost the hop path more than the commands themselves. One immediate retry on a
    dropped connection (a pooled connection left over from before a Redis restart), none on a
    timeout: a slow Redis must not double a hop's wait.
    """
    return aioredis.from_url(
        url,
        socket_timeout=None,
        socket_connect_timeout=TIMEOUT,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
