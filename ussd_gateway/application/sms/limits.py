"""How many inbound SMS one number and one source address may send (``sms.limits``).

An SMS callback is no hop: nobody waits on a screen, so the verdict waits for the count itself.
A callback repeated with the same message id (the aggregator retrying) is counted once. When
the counts cannot be had (Redis down) nobody is limited, as for hops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ussd_gateway.adapters.limits import LimitState
from ussd_gateway.application.ratelimit import Counter, counter, once, phone_ident
from ussd_gateway.config.sms import SmsLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    scope: str
    """``phone`` (the sender number is over its limit) or ``source`` (the caller's address)."""
    retry_after: float
    """Seconds until the window that is full ends."""


class InboundLimits:
    def __init__(
        self,
        limits: SmsLimits,
        state: LimitState,
        *,
        country: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits
        self.state = state
        self.country = country
        self.clock = clock
        """Wall-clock seconds, as the hops' windows: every process agrees on a window."""

    async def check(self, message_id: str, phone: str, source: str | None) -> Refusal | None:
        """Count one inbound message; the limit it went over, the source's first, else None."""
        now = self.clock()
        found: list[Counter] = []
        if self.limits.source.enabled and source:
            found.append(counter("sms-source", source, self.limits.source, now))
        if self.limits.phone.enabled:
            ident = phone_ident(phone, self.country)
            found.append(counter("sms-phone", ident, self.limits.phone, now))
        if not found:
            return None
        copy = once(f"sms:{message_id}:{phone}", found)
        try:
            counts = await self.state.count_soon([(c.key, c.window) for c in found], copy)
        except Exception as exc:  # the state logs its outages: let the message through
            log.debug("inbound SMS not counted: %s", type(exc).__name__)
            return None
        for found_counter, count in zip(found, counts, strict=True):
            if count > found_counter.limit:
                scope = found_counter.scope.removeprefix("sms-")
                return Refusal(scope, max(0.0, found_counter.ends - now))
        return None
