"""Where the guard counts requests: Redis (shared by every process), or this process.

``count_soon`` counts one request in each of its window counters (INCR, PEXPIRE on the first)
and hands back a future of the counts, without the caller waiting for it: in Redis the count
rides along with the other hops' calls of that loop turn (the client's ``Batcher``). A Redis
failure must never stop citizens: the counts are then missing (the guard lets requests through)
and the failure is logged at most every ``QUIET`` seconds.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ussd_gateway.adapters.redis.batcher import Batcher

log = logging.getLogger(__name__)

QUIET = 30.0
"""Seconds between two warnings about the same Redis outage."""

Counters = Sequence[tuple[str, float]]
"""(key, window seconds) of each counter one request increments."""


class LimitState(abc.ABC):
    @abc.abstractmethod
    def count_soon(self, counters: Counters) -> asyncio.Future[list[int]]:
        """Count one request in each counter; the future of the counts after it. The future
        fails when the counts cannot be had (the caller lets the request through)."""


class MemoryLimitState(LimitState):
    """Counters in a dict with expiry, swept at most every ``sweep`` seconds."""

    def __init__(self, *, sweep: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._data: dict[str, tuple[float, int]] = {}
        self._sweep = sweep
        self._clock = clock
        self._next_sweep = clock() + sweep

    def _tidy(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep
        for key in [k for k, (expires, _) in self._data.items() if expires <= now]:
            del self._data[key]

    def count_soon(self, counters: Counters) -> asyncio.Future[list[int]]:
        now = self._clock()
        self._tidy(now)
        counts = []
        for key, window in counters:
            expires, count = self._data.get(key, (0.0, 0))
            if expires <= now:
                expires, count = now + window, 0
            self._data[key] = (expires, count + 1)
            counts.append(count + 1)
        done: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        done.set_result(counts)
        return done


# A Lua function (``Batcher.register``). KEYS: counters. ARGV: each counter's window in ms.
# Returns the counts. A window's counter gets its expiry when created: its key names the
# window, so later INCRs need not touch it again.
COUNT = """
local out = {}
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i]) end
  out[i] = n
end
return out
"""


class RedisLimitState(LimitState):
    """Shared by every web process, so a limit holds however many processes serve."""

    def __init__(self, *, client: aioredis.Redis, batcher: Batcher | None = None) -> None:
        self.client = client
        self.batcher = batcher or Batcher(client)
        self._quiet_until = 0.0
        self.batcher.register({"count": COUNT})

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + QUIET
            log.warning("guard: redis count failed, not limiting: %s: %s", type(exc).__name__, exc)

    def count_soon(self, counters: Counters) -> asyncio.Future[list[int]]:
        keys = [key for key, _ in counters]
        windows = [max(1, int(window * 1000)) for _, window in counters]
        counted = self.batcher.submit("count", keys, windows)
        counted.add_done_callback(self._failed)
        return counted

    def _failed(self, counted: asyncio.Future[Any]) -> None:
        if counted.cancelled():
            return
        exc = counted.exception()
        if isinstance(exc, RedisError | OSError):
            self._warn(exc)
