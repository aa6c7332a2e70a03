"""Where the guard counts requests and remembers stalled hops: Redis, or this process.

One round trip per hop in Redis: ``ADMIT`` counts the request in every window counter (INCR,
PEXPIRE on the first) and reads the stalled-hop memo, a call of the client's ``Batcher`` that
leaves with the other hops' calls. A Redis failure must never stop citizens: ``admit`` then
fails open (no counts, no memo) and says so in the log, at most every ``QUIET`` seconds.
"""

from __future__ import annotations

import abc
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
    async def admit(self, counters: Counters, memo_key: str) -> tuple[list[int], str | None]:
        """Count one request in each counter; the counts and the memo (zeros and None when the
        state cannot be reached: the guard then lets the request through)."""

    @abc.abstractmethod
    async def remember(self, memo_key: str, value: str, ttl: float) -> None: ...

    @abc.abstractmethod
    async def forget(self, memo_key: str) -> None: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class MemoryLimitState(LimitState):
    """Counters and memos in a dict with expiry, swept at most every ``sweep`` seconds."""

    def __init__(self, *, sweep: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._sweep = sweep
        self._clock = clock
        self._next_sweep = clock() + sweep

    def _get(self, key: str, now: float) -> Any:
        entry = self._data.get(key)
        if entry is None or entry[0] <= now:
            return None
        return entry[1]

    def _tidy(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep
        for key in [k for k, (expires, _) in self._data.items() if expires <= now]:
            del self._data[key]

    async def admit(self, counters: Counters, memo_key: str) -> tuple[list[int], str | None]:
        now = self._clock()
        self._tidy(now)
        counts = []
        for key, window in counters:
            count = (self._get(key, now) or 0) + 1
            expires = self._data[key][0] if count > 1 else now + window
            self._data[key] = (expires, count)
            counts.append(count)
        return counts, self._get(memo_key, now)

    async def remember(self, memo_key: str, value: str, ttl: float) -> None:
        self._data[memo_key] = (self._clock() + ttl, value)

    async def forget(self, memo_key: str) -> None:
        self._data.pop(memo_key, None)


# A Lua function (``Batcher.register``). KEYS: counters..., memo. ARGV: each counter's window
# in ms. Returns {count..., memo or nil}.
# A window's counter gets its expiry when created: its key names the window, so later INCRs
# need not touch it again.
ADMIT = """
local out = {}
for i = 1, #KEYS - 1 do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i]) end
  out[i] = n
end
out[#KEYS] = redis.call('GET', KEYS[#KEYS]) or false
return out
"""


class RedisLimitState(LimitState):
    """Shared by every web process, so a limit holds however many processes serve."""

    def __init__(self, *, client: aioredis.Redis, batcher: Batcher | None = None) -> None:
        self.client = client
        self.batcher = batcher or Batcher(client)
        self._quiet_until = 0.0
        self.batcher.register({"admit": ADMIT})

    def _warn(self, what: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + QUIET
            log.warning(
                "guard: redis %s failed, not limiting: %s: %s", what, type(exc).__name__, exc
            )

    async def admit(self, counters: Counters, memo_key: str) -> tuple[list[int], str | None]:
        keys = [key for key, _ in counters]
        keys.append(memo_key)
        windows = [max(1, int(window * 1000)) for _, window in counters]
        try:
            reply = await self.batcher.call("admit", keys, windows)
        except (RedisError, OSError) as exc:
            self._warn("admit", exc)
            return [0] * len(counters), None
        memo = reply[-1] if len(reply) == len(keys) else None
        if isinstance(memo, bytes):
            memo = memo.decode("utf-8")
        return [int(n) for n in reply[: len(counters)]], memo

    async def remember(self, memo_key: str, value: str, ttl: float) -> None:
        try:
            await self.client.set(memo_key, value, px=max(1, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            self._warn("remember", exc)

    async def forget(self, memo_key: str) -> None:
        try:
            await self.client.delete(memo_key)
        except (RedisError, OSError) as exc:
            self._warn("forget", exc)
