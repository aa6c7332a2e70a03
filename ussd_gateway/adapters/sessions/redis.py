"""Redis session store: lets any web process continue any session.

A hop costs two round trips, first hops included: one Lua call that takes the lock and reads the
session (pipelined, on a dial, with the number's language and dropped journey, and with any
``Piggyback`` script such as the guard's rate limits), and one pipeline that writes the session
(and its resume copy) and releases the lock. Two is the floor for a
locked read-modify-write whose "modify" runs in Python: see docs/performance.md. Both trips go
through ``sessions.multiplex`` (pipelined with other hops' trips on a shared connection, one
deadline each), not redis-py's pipeline machinery.

A plain hop on a session this process saved last, with nothing changed since, costs one:
``save_unchanged`` (``single_trip.py``, used by ``onetrip.py``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisError

from ussd_gateway.adapters.sessions.base import (
    Arrival,
    KeyBuilder,
    Piggyback,
    ResumeCopy,
    SessionBusy,
    SessionStore,
    StoreUnavailable,
    Transaction,
)
from ussd_gateway.adapters.sessions.memory import LANGUAGE_TTL
from ussd_gateway.adapters.sessions.multiplex import Multiplexer
from ussd_gateway.adapters.sessions.roundtrip import trip_timeout
from ussd_gateway.adapters.sessions.single_trip import (
    SCRIPT,
    Limit,
    RecentSessions,
    Verdict,
    script_call,
)
from ussd_gateway.domain.session import Session

log = logging.getLogger(__name__)

# KEYS: lock, session. ARGV: token, lock ms. Returns {1, session or nil} or {0}.
_ACQUIRE_AND_GET = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2])}
end
return {0}
"""

# KEYS: lock. ARGV: token. Deletes the lock only if we still own it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_FIRST_RETRY = 0.005
_MAX_RETRY = 0.05


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


@contextmanager
def _unavailable(what: str) -> Iterator[None]:
    """Turn any Redis or socket failure into StoreUnavailable, which callers know to handle."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(f"redis {what} failed: {type(exc).__name__}: {exc}") from exc


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
        ttl: float = 180.0,
        resume_window: float = 300.0,
        keys: KeyBuilder | None = None,
        lock_timeout: float = 3.0,
        lock_wait: float = 2.0,
        language_ttl: float = LANGUAGE_TTL,
        owns_client: bool = False,
        single_trip: bool = True,
    ) -> None:
        super().__init__(ttl=ttl, resume_window=resume_window, keys=keys)
        self.client = client
        self.lock_timeout = lock_timeout
        self.lock_wait = lock_wait
        self.language_ttl = language_ttl
        self.owns_client = owns_client
        """True when this store created the client and must close it."""
        self._acquire_script = client.register_script(_ACQUIRE_AND_GET)
        self._release_script = client.register_script(_RELEASE)
        self._scripts: dict[str, Any] = {}
        """Piggybacked scripts by their text, registered once."""
        self._trips = Multiplexer(client, trip_timeout(client))
        """The hop path's round trips, pipelined on shared connections; the deadline of each
        is the client's socket timeout."""
        self.recent: RecentSessions | None = None
        """The sessions this process saved last, for one-trip hops (``single_trip.py``); None
        when ``single_trip`` is off or the client is a Redis Cluster one (its keys span slots)."""
        if single_trip and not isinstance(client, RedisCluster):
            self.recent = RecentSessions()
            self._single_trip_script = client.register_script(SCRIPT)

    # -- transaction: the two-round-trip path ----------------------------------------------------

    @asynccontextmanager
    async def transaction(
        self,
        session_key: str,
        arrival: Arrival | None = None,
        piggyback: Piggyback | None = None,
    ) -> AsyncIterator[Transaction]:
        """Same contract as the base class, with lock+read(+prefetch, +piggyback) and
        write+unlock batched."""
        token, raw, extra, piggybacked = await self._lock_and_get(session_key, arrival, piggyback)
        tx = Transaction(session_key, _decode(raw))
        tx.piggybacked = piggybacked
        if arrival is not None and tx.session is None:
            language, dropped = extra
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

    async def _lock_and_get(
        self,
        session_key: str,
        arrival: Arrival | None = None,
        piggyback: Piggyback | None = None,
    ) -> tuple[str, Any, tuple[Any, Any], Any]:
        """Take the lock, retrying with short backoff until ``lock_wait``; return the session
        (and, with ``arrival``, the raw language and resume copy, read in the same trip; with
        ``piggyback``, its reply, from the first trip only)."""
        token = secrets.token_hex(16)
        keys = [self.keys.lock(session_key), self.keys.session(session_key)]
        args = [token, _ms(self.lock_timeout)]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_wait
        delay = _FIRST_RETRY
        extra: tuple[Any, Any] = (None, None)
        piggybacked: Any = None
        while True:
            with _unavailable("lock"):
                reply, extra, piggybacked = await self._acquire_with_arrival(
                    keys, args, arrival, piggyback
                )
                piggyback = None  # it ran: a retry of the lock must not run it again
            if reply[0] == 1:
                return token, reply[1] if len(reply) > 1 else None, extra, piggybacked
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SessionBusy(
                    f"session {session_key!r} stayed locked for more than {self.lock_wait}s"
                )
            await asyncio.sleep(min(delay * (0.5 + random.random()), remaining))
            delay = min(delay * 2, _MAX_RETRY)

    async def _acquire_with_arrival(
        self,
        keys: list[str],
        args: list[Any],
        arrival: Arrival | None,
        piggyback: Piggyback | None = None,
    ) -> tuple[Any, tuple[Any, Any], Any]:
        """The lock script, plus GETs of the language and resume keys (with ``arrival``) and
        the piggybacked script (with ``piggyback``), in one round trip.

        The keys hash to other slots than the session's, so this is a plain pipeline, not a
        script (a Redis Cluster client splits it by slot).
        """
        commands: list[tuple[Any, ...]] = [
            ("EVALSHA", self._acquire_script.sha, len(keys), *keys, *args)
        ]
        if arrival is not None:
            commands.append(("GET", self.keys.language(arrival.phone)))
            commands.append(("GET", self.keys.resume(arrival.service, arrival.phone)))
        rider = None
        if piggyback is not None:
            rider = self._scripts.get(piggyback.script)
            if rider is None:
                rider = self._scripts[piggyback.script] = self.client.register_script(
                    piggyback.script
                )
            commands.append(
                ("EVALSHA", rider.sha, len(piggyback.keys), *piggyback.keys, *piggyback.args)
            )
        results = await self._trips.trip(commands)
        reply = results[0]
        language, dropped = results[1:3] if arrival is not None else (None, None)
        piggybacked = results[-1] if rider is not None else None
        if isinstance(reply, NoScriptError):
            # Redis restarted or its script cache was flushed: the script call loads it again.
            reply = await self._eval(self._acquire_script, keys, args)
        if rider is not None and piggyback is not None and isinstance(piggybacked, NoScriptError):
            try:
                piggybacked = await self._eval(rider, piggyback.keys, piggyback.args)
            except (RedisError, OSError) as exc:
                piggybacked = exc
        for result in (reply, language, dropped):
            if isinstance(result, Exception):
                raise result
        return reply, (language, dropped), piggybacked

    async def _eval(self, script: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run a script Redis no longer has cached (it restarted, or its cache was flushed) by
        its text, which caches it again; on the hop path's connections, which are replaced as
        soon as Redis closes them, not the pool's (redis-py 8 skips that check on RESP3)."""
        (reply,) = await self._trips.trip([("EVAL", script.script, len(keys), *keys, *args)])
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _save_and_release(self, session: Session, session_key: str, token: str) -> None:
        """Write the session and its resume copy, then unlock, in one round trip."""
        raw = session.dumps()
        lock_key = self.keys.lock(session_key)
        with _unavailable("save"):
            commands = self._save_commands(session, raw)
            commands.append(("EVALSHA", self._release_script.sha, 1, lock_key, token))
            results = await self._trips.trip(commands)
            *writes, released = results
            for result in writes:
                if isinstance(result, Exception):
                    raise result
            if self.recent is not None:
                self.recent.saved(session_key, raw, session)
            if isinstance(released, NoScriptError):
                # Redis restarted or its script cache was flushed: load and run it again.
                await self._eval(self._release_script, [lock_key], [token])
            elif isinstance(released, Exception):
                raise released

    async def _release_quietly(self, session_key: str, token: str) -> None:
        """Unlock after a failed hop without hiding its error; the lock expires anyway."""
        try:
            await self._release(session_key, token)
        except StoreUnavailable as exc:
            log.warning("could not release session lock: %s", exc)

    def _save_commands(self, session: Session, raw: str) -> list[tuple[Any, ...]]:
        """SET of the session and the SET or DEL its resume copy needs (``ResumeCopy``)."""
        commands: list[tuple[Any, ...]] = [
            ("SET", self.keys.session(session.key), raw, "PX", _ms(self.ttl))
        ]
        resume_key = self._resume_key(session)
        action = ResumeCopy.on_save(session)
        if action is ResumeCopy.WRITE:
            commands.append(("SET", resume_key, raw, "PX", _ms(self.resume_window)))
        elif action is ResumeCopy.DROP:
            commands.append(("DEL", resume_key))
        return commands

    def _resume_key(self, session: Session) -> str:
        return self.keys.resume(session.directory or session.service, session.phone)

    # -- the one-trip path (single_trip.py) ------------------------------------------------------

    async def save_unchanged(
        self,
        session_key: str,
        expected: str,
        session: Session,
        limits: Sequence[Limit] = (),
        memo_key: str | None = None,
    ) -> tuple[Verdict, list[int]]:
        """Save ``session`` in one trip if the stored value is still ``expected``, no lock is
        held and no ``memo_key`` exists; count ``limits`` first (the verdict and the counts:
        see ``single_trip.SCRIPT``). Only with ``recent`` (``single_trip`` on)."""
        assert self.recent is not None, "single_trip is off"
        raw = session.dumps()
        keys, args = script_call(
            (
                self.keys.lock(session_key),
                self.keys.session(session_key),
                self._resume_key(session),
            ),
            (
                expected,
                raw,
                _ms(self.ttl),
                ResumeCopy.on_save(session).value,
                _ms(self.resume_window),
            ),
            limits,
            memo_key,
        )
        script = self._single_trip_script
        with _unavailable("save"):
            (reply,) = await self._trips.trip([("EVALSHA", script.sha, len(keys), *keys, *args)])
            if isinstance(reply, NoScriptError):
                # Redis restarted or its script cache was flushed: the script call loads it again.
                reply = await self._eval(script, keys, args)
            elif isinstance(reply, Exception):
                raise reply
        verdict = Verdict(int(reply[0]))
        if verdict is Verdict.OK:
            self.recent.saved(session_key, raw, session)
        return verdict, [int(n) for n in reply[1:]]

    # -- the SessionStore primitives -------------------------------------------------------------

    async def _acquire(self, session_key: str) -> str:
        token, _, _, _ = await self._lock_and_get(session_key)
        return token

    async def _release(self, session_key: str, token: str) -> None:
        lock_key = self.keys.lock(session_key)
        with _unavailable("unlock"):
            commands = [("EVALSHA", self._release_script.sha, 1, lock_key, token)]
            (released,) = await self._trips.trip(commands)
            if isinstance(released, NoScriptError):
                await self._eval(self._release_script, [lock_key], [token])
            elif isinstance(released, Exception):
                raise released

    async def _load(self, session_key: str) -> Session | None:
        return await self.get(session_key)

    async def _save(self, session: Session) -> None:
        raw = session.dumps()
        with _unavailable("save"):
            results = await self._trips.trip(self._save_commands(session, raw))
            for result in results:
                if isinstance(result, Exception):
                    raise result
        if self.recent is not None:
            self.recent.saved(session.key, raw, session)

    async def get(self, session_key: str) -> Session | None:
        with _unavailable("read"):
            raw = await self.client.get(self.keys.session(session_key))
        return _decode(raw)

    async def resumable(self, service: str, phone: str) -> Session | None:
        with _unavailable("read"):
            raw = await self.client.get(self.keys.resume(service, phone))
        return _decode(raw)

    async def forget_resumable(self, service: str, phone: str) -> None:
        with _unavailable("delete"):
            await self.client.delete(self.keys.resume(service, phone))

    async def language(self, phone: str) -> str | None:
        with _unavailable("read"):
            return _text(await self.client.get(self.keys.language(phone)))

    async def remember_language(self, phone: str, language: str) -> None:
        with _unavailable("write"):
            await self.client.set(self.keys.language(phone), language, px=_ms(self.language_ttl))

    async def ping(self) -> None:
        with _unavailable("ping"):
            await self.client.ping()

    async def close(self) -> None:
        """Hand the hop path's connections back to the client's pool; close the client only if
        this store created it (a shared client belongs to its owner)."""
        await self._trips.close()
        if self.recent is not None:
            self.recent.clear()
        if self.owns_client:
            await self.client.aclose()
