"""What a hop tells about itself (metrics, session events), as an interface the hop service
depends on instead of the metrics and storage behind it.

Every method is synchronous and must not wait for anything: it runs inside the hop.
"""

from __future__ import annotations

from typing import Protocol

from ussd_gateway.domain.session import Session
from ussd_gateway.domain.ussd import UssdReply, UssdRequest


class HopObserver(Protocol):
    def advanced(self, request: UssdRequest, previous: Session | None, current: Session) -> None:
        """A hop moved a session on (``previous`` is None for a new session); through a
        directory ``current`` may be in another service than ``previous``."""

    def answered(
        self, request: UssdRequest, service: str | None, reply: UssdReply, seconds: float
    ) -> None:
        """A reply went back, showing a screen of ``service`` (through a directory: the service
        the session is in; None when the code reaches no service)."""

    def failed(self, request: UssdRequest, service: str, dependency: str) -> None:
        """A hop ended politely because ``dependency`` did not answer."""

    def session_ended(self, provider: str, session_id: str, service: str, reason: str) -> None:
        """The aggregator says a session is over (its end-of-session notice): e.g. ``cancelled``
        when the citizen or the network hung up before an end screen."""


class NoObserver:
    """Told everything, records nothing: tests, journey tests, benchmarks."""

    def advanced(self, request: UssdRequest, previous: Session | None, current: Session) -> None:
        pass

    def answered(
        self, request: UssdRequest, service: str | None, reply: UssdReply, seconds: float
    ) -> None:
        pass

    def failed(self, request: UssdRequest, service: str, dependency: str) -> None:
        pass

    def session_ended(self, provider: str, session_id: str, service: str, reason: str) -> None:
        pass
