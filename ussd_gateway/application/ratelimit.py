"""Per phone number and per provider request limits, in fixed windows of wall-clock time.

Fixed windows keyed by their index (``time // window``) need one INCR per counter and agree
across processes without coordination; a burst straddling two windows can reach twice the
limit, which is acceptable for stopping abuse. Numbers are hashed in keys: they are personal.
"""

from __future__ import annotations

import time
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


def _counter(scope: str, ident: str, rule: Window, now: float) -> Counter:
    index = int(now // rule.window)
    return Counter(scope, f"{PREFIX}:{scope}:{ident}:{index}", rule.window, rule.requests)


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


def exceeded(found: list[Counter], counts: list[int]) -> list[str]:
    """The scopes over their limit (a failed-open count of 0 never is)."""
    return [c.scope for c, n in zip(found, counts, strict=True) if n > c.limit]
