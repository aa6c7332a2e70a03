"""The one call the web side makes per hop, whatever stands behind it (the guard, the hop
service): a request in, a reply out, and the aggregator's notice that a session is over."""

from __future__ import annotations

from typing import Protocol

from ussd_gateway.domain.ussd import UssdReply, UssdRequest


class HopHandler(Protocol):
    async def handle(self, request: UssdRequest) -> UssdReply:
        """The screen for ``request``: never raises for a citizen's input or a dead store."""
        ...

    async def close(self, provider: str, session_id: str, reason: str, *, dropped: bool) -> bool:
        """The aggregator says the session is over; False when there is no such session."""
        ...
