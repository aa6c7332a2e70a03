"""Clocks a test moves instead of sleeping: ``FakeClock`` for what the gateway's in-process
expiries, rate-limit windows and menu retention read (``ports.clock.Clock``), ``SteppedClock``
for the outbox's retry delays (a datetime clock)."""

from __future__ import annotations

import asyncio
import datetime as dt

from ussd_gateway.adapters.db.models import utcnow


class FakeClock:
    def __init__(self, wall: float = 1_800_000_000.0) -> None:
        self._wall = wall
        self._monotonic = 10_000.0

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._monotonic += seconds


async def later(clock: FakeClock, seconds: float, *, redis: bool) -> None:
    """``seconds`` later for the gateway: the clock moves; Redis keeps its own time for its
    keys' expiry, so on Redis the test also waits for real."""
    clock.advance(seconds)
    if redis:
        await asyncio.sleep(seconds)


class SteppedClock:
    """Real time plus an offset that only grows: rows stamped by the database or by code
    reading the real clock are never in this clock's future."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)
