"""The session store contract shared by the in-process and Redis stores."""

from __future__ import annotations

import abc
import enum
import functools
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ussd_gateway.domain.session import Session


class StoreUnavailable(RuntimeError):
    """The store cannot be reached; the hop must end politely instead of crashing."""


class SessionBusy(StoreUnavailable):
    """Another copy of the same hop held the session lock for too long."""


@functools.lru_cache(maxsize=16384)
def _phone_id(phone: str) -> str:
    """A number's key part; cached, as each hop needs it two or three times (limits, resume)."""
    return hashlib.sha256(phone.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class KeyBuilder:
    """Builds every key a store uses, so layouts change in one place.

    A session's keys share the hash tag ``{<session key>}`` so they stay on one Redis Cluster slot.
    Phone numbers never appear in keys in clear: they are personal data.
    """

    prefix: str = "ussd"

    @staticmethod
    def phone_id(phone: str) -> str:
        return _phone_id(phone)

    def session(self, session_key: str) -> str:
        return f"{self.prefix}:{{{session_key}}}"

    def lock(self, session_key: str) -> str:
        return f"{self.prefix}:{{{session_key}}}:lock"

    def stalled(self, session_key: str) -> str:
        return f"{self.prefix}:{{{session_key}}}:stalled"

    def resume(self, service: str, phone: str) -> str:
        return f"{self.prefix}:resume:{service}:{self.phone_id(phone)}"

    def language(self, phone: str) -> str:
        return f"{self.prefix}:lang:{self.phone_id(phone)}"

    def dropped(self, service: str) -> str:
        """The service's journeys in progress, by when they last moved (resume keys, scored
        by ``updated_at``): where a sweep finds the ones that dropped, without a key scan."""
        return f"{self.prefix}:dropped:{service}"

    def dials(self, scope: str, phone: str) -> str:
        return f"{self.prefix}:dials:{scope}:{self.phone_id(phone)}"


DIALS_TTL = 7 * 24 * 3600.0
"""How long a number's dial count outlives its last use: a count that expired starts again at
1, so it must outlive every session (and resume copy) named after it."""


class ResumeCopy(enum.Enum):
    """What saving a session does to the resume copy kept for its (service, phone)."""

    WRITE = "write"
    DROP = "drop"
    KEEP = "keep"

    @classmethod
    def on_save(cls, session: Session) -> ResumeCopy:
        """A journey in progress is the copy (and one that ended on a reference the citizen may
        not have seen); a finished or restarted one has none; a session still offering a
        dropped journey back must leave that journey's copy alone."""
        if session.in_journey or session.unseen:
            return cls.WRITE
        return cls.DROP if session.resume_from is None else cls.KEEP


@dataclass(frozen=True, slots=True)
class Arrival:
    """Who dials which service: with it, a transaction that finds no session also fetches what
    a new session needs (the number's language, its dropped journey) in the same round trip."""

    service: str
    phone: str


class Transaction:
    """The session as loaded under the lock; assign ``session`` to have it saved on exit.

    ``prefetched`` is True when the store fetched ``language`` and ``resumable`` for the
    transaction's ``Arrival`` (only when no session was found). ``stalled`` is the request a
    hop left behind when it overran its deadline (``SessionStore.stall``).
    """

    __slots__ = (
        "key",
        "language",
        "original",
        "prefetched",
        "resumable",
        "session",
        "stalled",
    )

    def __init__(self, key: str, session: Session | None, stalled: str | None = None) -> None:
        self.key = key
        self.original = session
        self.session = session
        self.stalled = stalled
        self.prefetched = False
        self.language: str | None = None
        self.resumable: Session | None = None

    def prefetch(self, language: str | None, resumable: Session | None) -> None:
        self.prefetched = True
        self.language = language
        self.resumable = resumable


class SessionStore(abc.ABC):
    """Loads and saves sessions; knows nothing of menus or aggregators.

    ``transaction`` serialises hops of one session: two copies of the same hop arriving at once
    are processed one after the other, so the second sees the first one's result.
    """

    def __init__(
        self, *, ttl: float = 180.0, resume_window: float = 300.0, keys: KeyBuilder | None = None
    ) -> None:
        self.ttl = ttl
        self.resume_window = resume_window
        self.keys = keys or KeyBuilder()

    @asynccontextmanager
    async def transaction(
        self, session_key: str, arrival: Arrival | None = None
    ) -> AsyncIterator[Transaction]:
        """Lock the session, load it, and on a clean exit save ``tx.session`` if it changed.

        With ``arrival`` and no stored session, ``tx`` also carries the prefetched language and
        dropped journey (see ``Transaction``).
        """
        token = await self._acquire(session_key)
        try:
            tx = Transaction(
                session_key, await self._load(session_key), await self._stalled(session_key)
            )
            if arrival is not None and tx.session is None:
                tx.prefetch(
                    await self.language(arrival.phone),
                    await self.resumable(arrival.service, arrival.phone),
                )
            yield tx
            if tx.session is not None and tx.session is not tx.original:
                await self._save(tx.session)
        finally:
            await self._release(session_key, token)

    @abc.abstractmethod
    async def _acquire(self, session_key: str) -> str: ...

    @abc.abstractmethod
    async def _release(self, session_key: str, token: str) -> None: ...

    @abc.abstractmethod
    async def _load(self, session_key: str) -> Session | None: ...

    @abc.abstractmethod
    async def _save(self, session: Session) -> None:
        """Save the session with the TTL refreshed; keep or drop its resume copy.

        An active session with progress (``session.in_journey``) is also kept as the resume copy
        for (service, phone) for ``resume_window`` seconds; a finished one drops that copy.
        """

    @abc.abstractmethod
    async def _stalled(self, session_key: str) -> str | None: ...

    @abc.abstractmethod
    async def forget_stalled(self, session_key: str) -> None:
        """The stalled request's screen reached the citizen: the session's hops are theirs again."""

    @abc.abstractmethod
    async def stall(self, session_key: str, request: str, ttl: float) -> None:
        """Remember ``request`` as the one to replay in place of the session's next hop (its
        hop overran the deadline and runs on), unless one is remembered already: that one is
        still the citizen's own, replayed now and stalling again."""

    @abc.abstractmethod
    async def get(self, session_key: str) -> Session | None:
        """Read a session without locking (tests, operators)."""

    @abc.abstractmethod
    async def resumable(self, service: str, phone: str) -> Session | None:
        """The dropped journey of this number on this service, if still within the window."""

    @abc.abstractmethod
    async def forget_resumable(self, service: str, phone: str) -> None: ...

    @abc.abstractmethod
    async def dropped(self, service: str, before: float, limit: int = 100) -> list[Session]:
        """Journeys in ``service`` that have not moved since ``before`` (wall seconds) and are
        still offered back: each claimed by one caller only, whichever process asks (once
        claimed, a journey is not returned again unless it moves and stalls anew)."""

    @abc.abstractmethod
    async def language(self, phone: str) -> str | None:
        """The language this number chose last, if any."""

    @abc.abstractmethod
    async def remember_language(self, phone: str, language: str) -> None: ...

    @abc.abstractmethod
    async def dials(self, scope: str, phone: str, *, new: bool) -> int:
        """How many sessions this number opened through ``scope`` (an aggregator), counted in
        the store so every web process agrees: one more (``new``) or as it is (0 if none).

        For aggregators that send no session id: the count tells one dial of a number from the
        next. It is kept ``DIALS_TTL`` past its last use, far beyond any session's life.
        """

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise StoreUnavailable when the store does not answer."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
