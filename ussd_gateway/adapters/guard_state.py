"""Where the guard counts requests and remembers stalled hops: Redis, or this process.

No round trip of its own per hop in Redis: the window counters (INCR + PEXPIRE) and the
stalled-hop memo are read by ``ADMIT_SCRIPT``, which the session store sends in its lock's round
trip (``sessions.base.Piggyback``); ``admit`` runs the same alone. A Redis failure must never
stop citizens: ``admit`` (and ``read``) then fail open (no counts, no memo) and say so in the
log, at most every ``QUIET`` seconds.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

QUIET = 30.0
"""Seconds between two warnings about the same Redis outage."""


class GuardState(abc.ABC):
    @abc.abstractmethod
    async def admit(
        self, counters: Sequence[tuple[str, float]], memo_key: str
    ) -> tuple[list[int], str | None]:
        """Count one request in each (key, window seconds) counter; return the counts and memo."""

    @abc.abstractmethod
    async def remember(
        self, memo_key: str, value: str, ttl: float, *, only_if_absent: bool = False
    ) -> None: ...

    def read(self, reply: Any, counters: int) -> tuple[list[int], str | None]:
        """Counts and memo from ``ADMIT_SCRIPT``'s reply (``[count..., memo]``), sent by the
        session store in its lock round trip; an error fails open (no counts, no memo)."""
        if isinstance(reply, BaseException) or not isinstance(reply, list | tuple):
            self._warn("admit", reply if isinstance(reply, BaseException) else ValueError(reply))
            return [0] * counters, None
        memo = reply[counters] if len(reply) > counters else None
        if isinstance(memo, bytes):
            memo = memo.decode("utf-8")
        return [int(n) for n in reply[:counters]], memo

    def _warn(self, what: str, exc: BaseException) -> None:
        log.warning("guard: %s failed, not limiting: %s: %s", what, type(exc).__name__, exc)

    @abc.abstractmethod
    async def forget(self, memo_key: str) -> None: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class MemoryGuardState(GuardState):
    """Counters and memos in a dict with expiry, swept at most every ``sweep`` seconds."""

    def __init__(self, *, sweep: float = 60.0) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._sweep = sweep
        self._next_sweep = time.monotonic() + sweep

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

    async def admit(
        self, counters: Sequence[tuple[str, float]], memo_key: str
    ) -> tuple[list[int], str | None]:
        now = time.monotonic()
        self._tidy(now)
        counts = []
        for key, window in counters:
            count = (self._get(key, now) or 0) + 1
            self._data[key] = (now + window, count)
            counts.append(count)
        return counts, self._get(memo_key, now)

    async def remember(
        self, memo_key: str, value: str, ttl: float, *, only_if_absent: bool = False
    ) -> None:
        now = time.monotonic()
        if only_if_absent and self._get(memo_key, now) is not None:
            return
        self._data[memo_key] = (now + ttl, value)

    async def forget(self, memo_key: str) -> None:
        self._data.pop(memo_key, None)


# KEYS: counters..., memo. ARGV: each counter's window in ms. Returns {count..., memo or nil}.
# A window's counter gets its expiry when created: its key names the window, so later INCRs
# need not touch it again.
ADMIT_SCRIPT = """
local out = {}
for i = 1, #KEYS - 1 do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i]) end
  out[i] = n
end
out[#KEYS] = redis.call('GET', KEYS[#KEYS]) or false
return out
"""


class RedisGuardState(GuardState):
    """Shared by every web process, so a limit holds however many processes serve.

    ``admit`` is one script call (one command to build and parse: a MULTI/EXEC pipeline of
    INCR, PEXPIRE and GET cost about twice the CPU per hop).
    """

    def __init__(self, client: aioredis.Redis, *, owns_client: bool = False) -> None:
        self.client = client
        self.owns_client = owns_client
        self._quiet_until = 0.0
        self._admit = client.register_script(ADMIT_SCRIPT)

    @classmethod
    def from_url(cls, url: str) -> RedisGuardState:
        # short timeouts: a dead Redis must cost a hop as little as possible before failing open
        client = aioredis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        return cls(client, owns_client=True)

    def _warn(self, what: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + QUIET
            log.warning(
                "guard: redis %s failed, not limiting: %s: %s", what, type(exc).__name__, exc
            )

    async def admit(
        self, counters: Sequence[tuple[str, float]], memo_key: str
    ) -> tuple[list[int], str | None]:
        keys = [key for key, _ in counters]
        keys.append(memo_key)
        windows = [max(1, int(window * 1000)) for _, window in counters]
        try:
            results = await self._admit(keys=keys, args=windows)
        except (RedisError, OSError) as exc:
            self._warn("admit", exc)
            return [0] * len(counters), None
        memo = results[-1] if len(results) == len(keys) else None
        if isinstance(memo, bytes):
            memo = memo.decode("utf-8")
        return [int(n) for n in results[: len(counters)]], memo

    async def remember(
        self, memo_key: str, value: str, ttl: float, *, only_if_absent: bool = False
    ) -> None:
        try:
            await self.client.set(memo_key, value, px=max(1, int(ttl * 1000)), nx=only_if_absent)
        except (RedisError, OSError) as exc:
            self._warn("remember", exc)

    async def forget(self, memo_key: str) -> None:
        try:
            await self.client.delete(memo_key)
        except (RedisError, OSError) as exc:
            self._warn("forget", exc)

    async def close(self) -> None:
        if self.owns_client:
            await self.client.aclose()


def create_state(redis_url: str | None) -> GuardState:
    return RedisGuardState.from_url(redis_url) if redis_url else MemoryGuardState()
