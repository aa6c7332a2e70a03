"""Per phone number and per provider request limits, in fixed windows of wall-clock time.

Fixed windows keyed by their index (``time // window``) need one INCR per counter and agree
across processes without coordination; a burst straddling two windows can reach twice the
limit, which is acceptable for stopping abuse. Numbers are hashed in keys: they are personal.

A number is counted under its international spelling (``domain.phones``), so ``0712…``,
``255712…`` and ``+255712…`` share one budget; a provider's repeated copy of a hop (same
session, same marker or text) is counted once (``adapters.limits.Once``) and judged as its
first copy was (``Repeats``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ussd_gateway.adapters.limits import FREE_COPIES, Once
from ussd_gateway.adapters.sessions.base import KeyBuilder
from ussd_gateway.config.guard import Limits, Window
from ussd_gateway.domain.phones import international
from ussd_gateway.domain.ussd import UssdRequest

PREFIX = "ussd:rl"


@dataclass(frozen=True, slots=True)
class Counter:
    scope: str
    """``phone`` or ``provider``: which limit this counter enforces."""
    key: str
    window: float
    limit: int
    ends: float
    """When its window ends (wall-clock seconds): its count means nothing after."""


def counter(scope: str, ident: str, rule: Window, now: float) -> Counter:
    index = int(now // rule.window)
    key = f"{PREFIX}:{scope}:{ident}:{index}"
    return Counter(scope, key, rule.window, rule.requests, (index + 1) * rule.window)


@functools.lru_cache(maxsize=16384)
def phone_ident(phone: str, country: str) -> str:
    """A number's part of a counter key: one per citizen, however it is spelt, and hashed."""
    return KeyBuilder.phone_id(international(phone, country))


def counters(limits: Limits, request: UssdRequest, now: float, country: str) -> list[Counter]:
    """The counters one request increments (none when both limits are off); a number's local
    spelling is taken in ``country`` (its calling code)."""
    found = []
    if limits.phone.enabled and request.phone:
        ident = phone_ident(request.phone, country)
        found.append(counter("phone", ident, limits.phone, now))
    if limits.provider.enabled:
        found.append(counter("provider", request.provider, limits.provider, now))
    return found


def once(key: str, found: Sequence[Counter]) -> Once:
    """``key``'s copies are not counted again while its longest window lasts."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    ttl = found[0].window
    for c in found:
        ttl = c.window if c.window > ttl else ttl
    return Once(f"{PREFIX}:once:{digest}", ttl)


def hop_identity(request: UssdRequest) -> str:
    """What a provider's repeated copy of a hop shares with it: its session and its marker
    (when the aggregator numbers its hops), else its text."""
    entry = f"m:{request.marker}" if request.marker else f"t:{request.text}"
    return f"hop:{request.session_key}:{int(request.start)}:{entry}"


def exceeded(found: Sequence[Counter], before: Sequence[int]) -> list[str]:
    """The scopes whose limit the requests counted ``before`` this one already reached."""
    return [c.scope for c, n in zip(found, before, strict=True) if n >= c.limit]


class SeenCounts:
    """The last count seen of each window counter: the verdict on the next request.

    Counts arrive after the request that asked for them has gone on (``follow``); the next
    request of the same number is judged on them. Entries go once their window has ended.
    """

    def __init__(self, clock: Callable[[], float] = time.time, *, sweep: float = 60.0) -> None:
        self._clock = clock
        self._sweep = sweep
        self._next_sweep = clock() + sweep
        self._seen: dict[str, tuple[float, int]] = {}

    def seen(self, key: str) -> int:
        entry = self._seen.get(key)
        return entry[1] if entry is not None else 0

    def follow(self, found: Sequence[Counter], counted: asyncio.Future[list[int]]) -> None:
        """Keep the counts of ``counted`` once they arrive (none when counting failed)."""
        counted.add_done_callback(functools.partial(self._counted, tuple(found)))
        now = self._clock()
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep
            for key in [k for k, (ends, _) in self._seen.items() if ends <= now]:
                del self._seen[key]

    def _counted(self, found: tuple[Counter, ...], counted: asyncio.Future[list[int]]) -> None:
        if counted.cancelled() or counted.exception() is not None:
            return  # the state could not count: nobody is limited for it
        for counter, count in zip(found, counted.result(), strict=True):
            _, known = self._seen.get(counter.key, (0.0, 0))
            self._seen[counter.key] = (counter.ends, max(known, int(count)))


class Repeats:
    """The hops let through as the last of their window: a copy of one is let through too.

    A hop's counts arrive after it has gone on, so its copy (the provider retrying) would be
    judged on a count that includes the first: the last hop the limit allows would have its
    copy refused. Only those hops are kept, so this stays small, and only ``FREE_COPIES`` of
    their copies pass, so resending one is no way around the limit.
    """

    def __init__(self, clock: Callable[[], float] = time.time, *, sweep: float = 60.0) -> None:
        self._clock = clock
        self._sweep = sweep
        self._next_sweep = clock() + sweep
        self._allowed: dict[str, tuple[float, int]] = {}
        """identity -> (when its window ends, copies it may still pass)."""

    def allowed(self, identity: str) -> bool:
        """Whether this copy of a hop let through passes as the hop did (uses one of its)."""
        ends, left = self._allowed.get(identity, (0.0, 0))
        if left <= 0 or ends <= self._clock():
            return False
        self._allowed[identity] = (ends, left - 1)
        return True

    def remember(self, identity: str, found: Sequence[Counter], before: Sequence[int]) -> None:
        """Keep ``identity`` when it took the last place of any of its counters."""
        for c, n in zip(found, before, strict=True):
            if n + 1 >= c.limit:
                self._allowed[identity] = (max(c.ends for c in found), FREE_COPIES)
                break
        else:
            return  # not the last of any window: nothing to keep, nothing to sweep
        now = self._clock()
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep
            for key in [k for k, (ends, _) in self._allowed.items() if ends <= now]:
                del self._allowed[key]
