"""Redis session store: lets any web process continue any session.

A hop costs two round trips, first hops included: one Lua function that takes the lock and
reads the session (and, on a dial with no session yet, the number's language and dropped
journey), and one that writes the session and its resume copy and releases the lock. Two is the
floor for a locked read-modify-write whose "modify" runs in Python. Both go through the client's
``Batcher``, so the calls of concurrent hops share one script call (see ``adapters/redis``).

Each function is given every key it touches. The session's own keys share a hash tag; the
language and resume keys hash elsewhere, which one Redis server does not mind. On Redis Cluster
those two must be read and written by calls of their own (the scale-out issue).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ussd_gateway.adapters.redis.batcher import Batcher
from ussd_gateway.adapters.redis.client import TIMEOUT
from ussd_gateway.adapters.sessions.base import (
    DIALS_TTL,
    Arrival,
    KeyBuilder,
    ResumeCopy,
    SessionBusy,
    SessionStore,
    StoreUnavailable,
    Transaction,
)
from ussd_gateway.adapters.sessions.memory import LANGUAGE_TTL
from ussd_gateway.domain.session import Session

log = logging.getLogger(__name__)

# Lua functions (``Batcher.register``).
# LOCK_AND_GET: KEYS lock, session, stalled[, language, resume]; ARGV token, lock ms.
# {1, session, stalled} once locked, with the language and resume copy too when there is no
# session yet (a new session needs them); {0} while another hop holds the lock.
# The lock is ours again if it already holds our token: a batch sent again after a dropped
# connection may have taken it the first time.
LOCK_AND_GET = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
   or redis.call('GET', KEYS[1]) == ARGV[1] then
  local session = redis.call('GET', KEYS[2])
  local stalled = redis.call('GET', KEYS[3])
  if session or #KEYS < 5 then
    return {1, session, stalled}
  end
  return {1, false, stalled, redis.call('GET', KEYS[4]), redis.call('GET', KEYS[5])}
end
return {0}
"""

# SAVE_AND_RELEASE: KEYS session, lock, resume, dropped index; ARGV token, session, ttl ms,
# resume copy (write|drop|keep), resume ms, updated_at, oldest kept. Writes the session and
# what ``ResumeCopy`` says (the copy indexed by when it moved, entries past the window
# trimmed, the index gone a window after its last write), then unlocks if still ours.
SAVE_AND_RELEASE = """
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[4] == 'write' then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[5])
  redis.call('ZADD', KEYS[4], ARGV[6], KEYS[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[7])
  redis.call('PEXPIRE', KEYS[4], ARGV[5])
elseif ARGV[4] == 'drop' then
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[4], KEYS[3])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 1
"""

# RELEASE: KEYS lock; ARGV token. Deletes the lock only if we still own it.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_FIRST_RETRY = 0.005
_MAX_RETRY = 0.05


def _ms(seconds: float) -> int:
    """Milliseconds as Redis takes them (never 0: that would expire a key at once)."""
    return max(1, int(seconds * 1000))


def _unavailable_error(what: str, exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"redis {what} failed: {type(exc).__name__}: {exc}")


@asynccontextmanager
async def _unavailable(what: str) -> AsyncIterator[None]:
    """Time a command of the client's (its sockets are not), and turn any Redis or socket
    failure or a timeout into StoreUnavailable, which callers know to handle. The batcher's
    calls are timed by the batcher (``_call``)."""
    try:
        async with asyncio.timeout(TIMEOUT):
            yield
    except (RedisError, OSError) as exc:
        raise _unavailable_error(what, exc) from exc


def _decode(raw: Any) -> Session | None:
    """A stored session, or None when absent or unreadable (the hop then starts afresh)."""
    if raw is None:
        return None
    try:
        return Session.loads(raw)
    except (ValueError, TypeError, KeyError):
        log.warning("discarding unreadable session value (%d bytes)", len(raw))
        return None


def _text(raw: Any) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisSessionStore(SessionStore):
    """Sessions in Redis, one key each, locked per session with ``SET NX PX`` and a token.

    The lock expires after ``lock_timeout`` so a crashed holder cannot block a session forever;
    a hop waits at most ``lock_wait`` for it and then gets SessionBusy. Every Redis failure
    surfaces as StoreUnavailable.
    """

    def __init__(
        self,
        *,
        client: aioredis.Redis,
        batcher: Batcher | None = None,
        ttl: float = 180.0,
        resume_window: float = 300.0,
        keys: KeyBuilder | None = None,
        lock_timeout: float = 3.0,
        lock_wait: float = 2.0,
        language_ttl: float = LANGUAGE_TTL,
        owns_client: bool = False,
    ) -> None:
        super().__init__(ttl=ttl, resume_window=resume_window, keys=keys)
        self.client = client
        self.batcher = batcher or Batcher(client)
        """Shared with the other users of ``client`` (the guard's counters) when given."""
        self.lock_timeout = lock_timeout
        self.lock_wait = lock_wait
        self.language_ttl = language_ttl
        self.owns_client = owns_client
        """True when this store created the client and must close it."""
        self.batcher.register(
            {"lock_and_get": LOCK_AND_GET, "save_and_release": SAVE_AND_RELEASE, "release": RELEASE}
        )
        self._tokens = map(f"{secrets.token_hex(8)}:{{}}".format, itertools.count())
        """Lock tokens: unique to this store (built in each process), one per acquisition;
        cheaper than drawing 16 random bytes from the system on every hop."""

    @asynccontextmanager
    async def transaction(
        self, session_key: str, arrival: Arrival | None = None
    ) -> AsyncIterator[Transaction]:
        """Same contract as the base class: lock and read (and prefetch) in one trip, write and
        unlock in one."""
        token, reply = await self._lock_and_get(session_key, arrival)
        session, stalled = reply[1], reply[2]
        tx = Transaction(session_key, _decode(session), _text(stalled))
        if arrival is not None and tx.session is None:
            language, dropped = reply[3:5] if len(reply) > 4 else (None, None)
            tx.prefetch(_text(language), _decode(dropped))
        try:
            yield tx
        except BaseException:
            await self._release_quietly(session_key, token)
            raise
        if tx.session is not None and tx.session is not tx.original:
            await self._save_and_release(tx.session, session_key, token)
        else:
            await self._release(session_key, token)

    async def _lock_and_get(self, session_key: str, arrival: Arrival | None) -> tuple[str, Any]:
        """Take the lock, retrying with short backoff until ``lock_wait``; the script's reply."""
        token = next(self._tokens)
        keys = [
            self.keys.lock(session_key),
            self.keys.session(session_key),
            self.keys.stalled(session_key),
        ]
        if arrival is not None:
            keys += [
                self.keys.language(arrival.phone),
                self.keys.resume(arrival.service, arrival.phone),
            ]
        args = [token, _ms(self.lock_timeout)]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_wait
        delay = _FIRST_RETRY
        while True:
            reply = await self._call("lock", "lock_and_get", keys, args)
            if reply[0] == 1:
                return token, reply
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SessionBusy(
                    f"session {session_key!r} stayed locked for more than {self.lock_wait}s"
                )
            await asyncio.sleep(min(delay * (0.5 + random.random()), remaining))
            delay = min(delay * 2, _MAX_RETRY)

    async def _save_and_release(self, session: Session, session_key: str, token: str) -> None:
        keys = [
            self.keys.session(session_key),
            self.keys.lock(session_key),
            self._resume_key(session),
            self.keys.dropped(session.service),
        ]
        args = [
            token,
            session.dumps(),
            _ms(self.ttl),
            ResumeCopy.on_save(session).value,
            _ms(self.resume_window),
            repr(session.updated_at),
            repr(session.updated_at - self.resume_window),
        ]
        await self._call("save", "save_and_release", keys, args)

    async def _call(self, what: str, name: str, keys: list[str], args: list[Any]) -> Any:
        """A call of one of this store's Lua functions, any failure as StoreUnavailable."""
        try:
            return await self.batcher.submit(name, keys, args)
        except (RedisError, OSError) as exc:
            raise _unavailable_error(what, exc) from exc

    async def _release_quietly(self, session_key: str, token: str) -> None:
        """Unlock after a failed hop without hiding its error; the lock expires anyway."""
        try:
            await self._release(session_key, token)
        except StoreUnavailable as exc:
            log.warning("could not release session lock: %s", exc)

    def _resume_key(self, session: Session) -> str:
        return self.keys.resume(session.directory or session.service, session.phone)

    # -- the SessionStore primitives -------------------------------------------------------------

    async def _acquire(self, session_key: str) -> str:
        token, _ = await self._lock_and_get(session_key, None)
        return token

    async def _release(self, session_key: str, token: str) -> None:
        await self._call("unlock", "release", [self.keys.lock(session_key)], [token])

    async def _load(self, session_key: str) -> Session | None:
        return await self.get(session_key)

    async def _save(self, session: Session) -> None:
        await self._save_and_release(session, session.key, "")

    async def _stalled(self, session_key: str) -> str | None:
        async with _unavailable("read"):
            return _text(await self.client.get(self.keys.stalled(session_key)))

    async def forget_stalled(self, session_key: str) -> None:
        async with _unavailable("delete"):
            await self.client.delete(self.keys.stalled(session_key))

    async def stall(self, session_key: str, request: str, ttl: float) -> None:
        async with _unavailable("write"):
            await self.client.set(self.keys.stalled(session_key), request, px=_ms(ttl), nx=True)

    async def get(self, session_key: str) -> Session | None:
        async with _unavailable("read"):
            raw = await self.client.get(self.keys.session(session_key))
        return _decode(raw)

    async def resumable(self, service: str, phone: str) -> Session | None:
        async with _unavailable("read"):
            raw = await self.client.get(self.keys.resume(service, phone))
        return _decode(raw)

    async def forget_resumable(self, service: str, phone: str) -> None:
        async with _unavailable("delete"):
            await self.client.delete(self.keys.resume(service, phone))

    async def dropped(self, service: str, before: float, limit: int = 100) -> list[Session]:
        """ZREM decides the claim: of processes sweeping at once, one removes each entry."""
        index = self.keys.dropped(service)
        async with _unavailable("sweep"):
            due = await self.client.zrangebyscore(index, "-inf", before, start=0, num=limit)
            if not due:
                return []
            async with self.client.pipeline(transaction=False) as pipe:
                for key in due:
                    pipe.zrem(index, key)
                removed = await pipe.execute()
            claimed = [key for key, ours in zip(due, removed, strict=True) if ours]
            values = await self.client.mget(claimed) if claimed else []
        return [s for s in (_decode(raw) for raw in values) if s is not None]

    async def language(self, phone: str) -> str | None:
        async with _unavailable("read"):
            return _text(await self.client.get(self.keys.language(phone)))

    async def remember_language(self, phone: str, language: str) -> None:
        async with _unavailable("write"):
            await self.client.set(self.keys.language(phone), language, px=_ms(self.language_ttl))

    async def dials(self, scope: str, phone: str, *, new: bool) -> int:
        """One trip: INCR or GET, with the expiry refreshed in the same transaction."""
        key = self.keys.dials(scope, phone)
        async with _unavailable("count"):
            async with self.client.pipeline(transaction=True) as pipe:
                if new:
                    pipe.incr(key)
                else:
                    pipe.get(key)
                pipe.pexpire(key, _ms(DIALS_TTL))
                count, _ = await pipe.execute()
        return int(count or 0)

    async def ping(self) -> None:
        async with _unavailable("ping"):
            await self.client.ping()

    async def close(self) -> None:
        """Let trips in flight finish; close the client only if this store created it (a shared
        client belongs to its owner)."""
        await self.batcher.close()
        if self.owns_client:
            await self.client.aclose()
