"""Where the guard counts requests: Redis (shared by every process), or this process.

``count_soon`` counts one request in each of its window counters (INCR, PEXPIRE on the first)
and hands back a future of the counts, without the caller waiting for it. A request given a
``Once`` (its identity: a provider's hop, an SMS callback's id) is counted the first time only:
an aggregator's repeated copies get the counts as they are, up to ``FREE_COPIES`` of them, so a
retry costs the citizen nothing and endless copies still cost their sender. In Redis the count
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
from typing import Any, NamedTuple

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from ussd_gateway.adapters.redis.batcher import Batcher
from ussd_gateway.adapters.redis.client import is_cluster

log = logging.getLogger(__name__)

QUIET = 30.0
"""Seconds between two warnings about the same Redis outage."""

Counters = Sequence[tuple[str, float]]
"""(key, window seconds) of each counter one request increments."""

FREE_COPIES = 3
"""Repeated copies of one request counted for nothing; copies past them are counted again."""


class Once(NamedTuple):
    """A request's identity, remembered for ``ttl`` seconds: its copies are not counted again."""

    key: str
    ttl: float


class LimitState(abc.ABC):
    @abc.abstractmethod
    def count_soon(self, counters: Counters, once: Once | None = None) -> asyncio.Future[list[int]]:
        """Count one request in each counter (not a copy of one ``once`` names); the future of
        the counts after it. The future fails when the counts cannot be had (the caller lets
        the request through)."""


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

    def _incr(self, key: str, ttl: float, now: float) -> int:
        expires, count = self._data.get(key, (0.0, 0))
        if expires <= now:
            expires, count = now + ttl, 0
        self._data[key] = (expires, count + 1)
        return count + 1

    def _get(self, key: str, now: float) -> int:
        expires, count = self._data.get(key, (0.0, 0))
        return count if expires > now else 0

    def count_soon(self, counters: Counters, once: Once | None = None) -> asyncio.Future[list[int]]:
        now = self._clock()
        self._tidy(now)
        copies = self._incr(once.key, once.ttl, now) if once is not None else 1
        if copies == 1 or copies > FREE_COPIES + 1:
            counts = [self._incr(key, window, now) for key, window in counters]
        else:
            counts = [self._get(key, now) for key, _ in counters]
        done: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        done.set_result(counts)
        return done


# A Lua function (``Batcher.register``). KEYS: counters, then the request's ``Once`` key if
# any. ARGV: the most copies counted for nothing (0 without a ``Once``), each counter's window in
# ms, then the ``Once`` key's ttl in ms. Returns the counts. A window's counter gets its expiry
# when created: its key names the window, so later INCRs need not touch it again.
COUNT = """
local free = tonumber(ARGV[1])
local n = #KEYS
local add = true
if free > 0 then
  n = n - 1
  local copies = redis.call('INCR', KEYS[#KEYS])
  if copies == 1 then redis.call('PEXPIRE', KEYS[#KEYS], ARGV[#ARGV]) end
  add = copies == 1 or copies > free + 1
end
local out = {}
for i = 1, n do
  local c
  if add then
    c = redis.call('INCR', KEYS[i])
    if c == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i + 1]) end
  else
    c = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
  out[i] = c
end
return out
"""


# Cluster only. PEEK: KEYS counter. The count as it is.
PEEK = """
return tonumber(redis.call('GET', KEYS[1]) or '0')
"""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisLimitState(LimitState):
    """Shared by every web process, so a limit holds however many processes serve."""

    def __init__(
        self, *, client: aioredis.Redis | RedisCluster, batcher: Batcher | None = None
    ) -> None:
        self.client = client
        self.batcher = batcher or Batcher(client)
        self._quiet_until = 0.0
        self.batcher.register({"count": COUNT})
        self.split = is_cluster(client)
        """On a cluster each counter is a call of its own: a request's counters are named after
        different things (the number, the provider, the service), so they hash to different
        slots, and one script may only touch one slot. The copy's key is counted first, in a
        round trip of its own, as whether to count the rest depends on it."""
        if self.split:
            self.batcher.register({"peek": PEEK})

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + QUIET
            log.warning("guard: redis count failed, not limiting: %s: %s", type(exc).__name__, exc)

    def count_soon(self, counters: Counters, once: Once | None = None) -> asyncio.Future[list[int]]:
        if self.split:
            counted: asyncio.Future[list[int]] = asyncio.ensure_future(
                self._count_by_slot(counters, once)
            )
            counted.add_done_callback(self._failed)
            return counted
        keys = [key for key, _ in counters]
        args = [0 if once is None else FREE_COPIES]
        args += [_ms(window) for _, window in counters]
        if once is not None:
            keys.append(once.key)
            args.append(_ms(once.ttl))
        counted = self.batcher.submit("count", keys, args)
        counted.add_done_callback(self._failed)
        return counted

    async def _count_by_slot(self, counters: Counters, once: Once | None) -> list[int]:
        add = True
        if once is not None:
            (copies,) = await self.batcher.submit("count", [once.key], [0, _ms(once.ttl)])
            add = copies == 1 or copies > FREE_COPIES + 1
        calls = [
            self.batcher.submit("count", [key], [0, _ms(window)])
            if add
            else self.batcher.submit("peek", [key])
            for key, window in counters
        ]
        results = await asyncio.gather(*calls)
        return [int(r[0]) if add else int(r) for r in results]

    def _failed(self, counted: asyncio.Future[Any]) -> None:
        if counted.cancelled():
            return
        exc = counted.exception()
        if isinstance(exc, RedisError | OSError):
            self._warn(exc)
