"""What ``fetch`` screens need from the outside world: one question to a configured backend."""

from __future__ import annotations

from typing import Protocol

from ussd_gateway.domain.fetch import FetchRequest, FetchResult


class Fetcher(Protocol):
    """Asks backends during a hop. Never raises for a backend's trouble: it answers
    ``UNAVAILABLE`` (at once while the backend's circuit is open)."""

    async def fetch(self, request: FetchRequest) -> FetchResult: ...
