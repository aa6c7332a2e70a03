"""Where a journey's state lives between hops, as the hop service sees it.

The stores (in-process, Redis) are in ``adapters/sessions``; their shared pieces (the locked
``Transaction``, ``Arrival``, and the errors a hop must answer politely) come from there.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from ussd_gateway.adapters.sessions.base import (
    Arrival,
    SessionBusy,
    StoreUnavailable,
    Transaction,
)
from ussd_gateway.domain.session import Session

__all__ = ["Arrival", "SessionBusy", "SessionStore", "StoreUnavailable", "Transaction"]


class SessionStore(Protocol):
    ttl: float
    resume_window: float

    def transaction(
        self, session_key: str, arrival: Arrival | None = None
    ) -> AbstractAsyncContextManager[Transaction]:
        """Lock and load the session; save ``tx.session`` on a clean exit if it changed."""
        ...

    async def get(self, session_key: str) -> Session | None: ...

    async def stall(self, session_key: str, request: str, ttl: float) -> None:
        """Leave a request whose hop overran its deadline, for the next hop to replay."""
        ...

    async def forget_stalled(self, session_key: str) -> None: ...

    async def resumable(self, service: str, phone: str) -> Session | None: ...

    async def forget_resumable(self, service: str, phone: str) -> None: ...

    async def dropped(self, service: str, before: float, limit: int = 100) -> list[Session]:
        """Journeys in ``service`` not moved since ``before``, each handed to one caller."""
        ...

    async def language(self, phone: str) -> str | None: ...

    async def remember_language(self, phone: str, language: str) -> None: ...

    async def dials(self, scope: str, phone: str, *, new: bool) -> int:
        """How many sessions ``phone`` opened through ``scope``: one more if ``new``."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
