"""In-process session store: for a single web process, development and tests.

Sessions live in this process only, so a deployment with several processes needs the Redis store.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable

from ussd_gateway.adapters.sessions.base import (
    DIALS_TTL,
    KeyBuilder,
    ResumeCopy,
    SessionBusy,
    SessionStore,
)
from ussd_gateway.domain.session import Session

LANGUAGE_TTL = 365 * 24 * 3600.0
"""How long a number's language choice is remembered: a year, refreshed on every choice."""


class _Lock:
    """A session lock plus how many tasks hold or wait on it, so idle locks can be freed."""

    __slots__ = ("lock", "token", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.token = ""
        self.users = 0


class MemorySessionStore(SessionStore):
    """Keeps serialised sessions in a dict with monotonic-clock expiry.

    Values are stored as ``Session.dumps()`` text, so a caller mutating a Session it saved or
    loaded never changes what is stored, exactly as with Redis. Expired entries read as absent
    and are deleted when read; a full sweep runs at most every ``purge_interval`` seconds on
    writes, so abandoned sessions do not make memory grow forever.
    """

    def __init__(
        self,
        *,
        ttl: float = 180.0,
        resume_window: float = 300.0,
        keys: KeyBuilder | None = None,
        lock_wait: float = 2.0,
        language_ttl: float = LANGUAGE_TTL,
        purge_interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(ttl=ttl, resume_window=resume_window, keys=keys)
        self.clock = clock
        """Seconds on a monotonic scale: tests move it instead of sleeping through a TTL."""
        self.lock_wait = lock_wait
        self.language_ttl = language_ttl
        self.purge_interval = purge_interval if purge_interval is not None else min(ttl, 60.0)
        self._data: dict[str, tuple[float, str]] = {}
        self._locks: dict[str, _Lock] = {}
        self._dropped: dict[str, dict[str, float]] = {}
        """Per service: resume key -> ``updated_at`` of the journey in progress there."""
        self._next_purge = clock() + self.purge_interval

    # -- raw key/value with expiry -------------------------------------------------------------

    def _get(self, key: str) -> str | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self.clock():
            del self._data[key]
            return None
        return value

    def _set(self, key: str, value: str, ttl: float) -> None:
        now = self.clock()
        self._data[key] = (now + ttl, value)
        self._purge(now)

    def _delete(self, key: str) -> None:
        self._data.pop(key, None)

    def _purge(self, now: float) -> None:
        """Drop every expired entry, at most once per ``purge_interval``."""
        if now < self._next_purge:
            return
        self._next_purge = now + self.purge_interval
        expired = [key for key, (expires, _) in self._data.items() if expires <= now]
        for key in expired:
            del self._data[key]
        for index in self._dropped.values():  # journeys whose resume copy expired
            for key in [key for key in index if key not in self._data]:
                del index[key]

    # -- locking ---------------------------------------------------------------------------------

    async def _acquire(self, session_key: str) -> str:
        entry = self._locks.get(session_key)
        if entry is None:
            entry = self._locks[session_key] = _Lock()
        entry.users += 1
        try:
            async with asyncio.timeout(self.lock_wait):
                await entry.lock.acquire()
        except TimeoutError:
            self._unuse(session_key, entry)
            raise SessionBusy(
                f"session {session_key!r} stayed locked for more than {self.lock_wait}s"
            ) from None
        except BaseException:
            self._unuse(session_key, entry)
            raise
        entry.token = secrets.token_hex(8)
        return entry.token

    async def _release(self, session_key: str, token: str) -> None:
        entry = self._locks.get(session_key)
        if entry is None or not token or entry.token != token:
            return
        entry.token = ""
        entry.lock.release()
        self._unuse(session_key, entry)

    def _unuse(self, session_key: str, entry: _Lock) -> None:
        entry.users -= 1
        if entry.users <= 0 and self._locks.get(session_key) is entry:
            del self._locks[session_key]

    # -- sessions --------------------------------------------------------------------------------

    async def _load(self, session_key: str) -> Session | None:
        return await self.get(session_key)

    async def _save(self, session: Session) -> None:
        raw = session.dumps()
        self._set(self.keys.session(session.key), raw, self.ttl)
        resume_key = self.keys.resume(session.directory or session.service, session.phone)
        action = ResumeCopy.on_save(session)
        index = self._dropped.setdefault(session.service, {})
        if action is ResumeCopy.WRITE:
            self._set(resume_key, raw, self.resume_window)
            index[resume_key] = session.updated_at
        elif action is ResumeCopy.DROP:
            self._delete(resume_key)
            index.pop(resume_key, None)

    async def _stalled(self, session_key: str) -> str | None:
        return self._get(self.keys.stalled(session_key))

    async def forget_stalled(self, session_key: str) -> None:
        self._delete(self.keys.stalled(session_key))

    async def stall(self, session_key: str, request: str, ttl: float) -> None:
        if self._get(self.keys.stalled(session_key)) is None:
            self._set(self.keys.stalled(session_key), request, ttl)

    async def get(self, session_key: str) -> Session | None:
        raw = self._get(self.keys.session(session_key))
        return Session.loads(raw) if raw is not None else None

    async def resumable(self, service: str, phone: str) -> Session | None:
        raw = self._get(self.keys.resume(service, phone))
        return Session.loads(raw) if raw is not None else None

    async def forget_resumable(self, service: str, phone: str) -> None:
        self._delete(self.keys.resume(service, phone))

    async def dropped(self, service: str, before: float, limit: int = 100) -> list[Session]:
        index = self._dropped.get(service, {})
        due = sorted((at, key) for key, at in index.items() if at <= before)[:limit]
        found = []
        for _, key in due:
            del index[key]
            raw = self._get(key)
            if raw is not None:
                found.append(Session.loads(raw))
        return found

    async def language(self, phone: str) -> str | None:
        return self._get(self.keys.language(phone))

    async def remember_language(self, phone: str, language: str) -> None:
        self._set(self.keys.language(phone), language, self.language_ttl)

    async def dials(self, scope: str, phone: str, *, new: bool) -> int:
        key = self.keys.dials(scope, phone)
        count = int(self._get(key) or 0) + (1 if new else 0)
        if count:
            self._set(key, str(count), DIALS_TTL)
        return count

    async def ping(self) -> None:
        """Always answers: the store is this process."""
