"""Per phone number and per provider request limits, in fixed windows of wall-clock time.

Fixed windows keyed by their index (``time // window``) need one INCR per counter and agree
across processes without coordination; a burst straddling two windows can reach twice the
limit, which is acceptable for stopping abuse. Numbers are hashed in keys: they are personal.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ussd_gateway.adapters.sessions.base import KeyBuilder
from ussd_gateway.config.guard import Limits, Window
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


def _counter(scope: str, ident: str, rule: Window, now: float) -> Counter:
    index = int(now // rule.window)
    key = f"{PREFIX}:{scope}:{ident}:{index}"
    return Counter(scope, key, rule.window, rule.requests, (index + 1) * rule.window)


def counters(limits: Limits, request: UssdRequest, now: float | None = None) -> list[Counter]:
    """The counters one request increments (none when both limits are off)."""
    now = time.time() if now is None else now
    found = []
    if limits.phone.enabled and request.phone:
        ident = KeyBuilder.phone_id(request.phone)
        found.append(_counter("phone", ident, limits.phone, now))
    if limits.provider.enabled:
        found.append(_counter("provider", request.provider, limits.provider, now))
    return found


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
