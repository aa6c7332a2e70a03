"""A clock the test moves: what the gateway's in-process expiries, rate-limit windows and menu
retention read instead of the machine's clocks (``ports.clock.Clock``)."""

from __future__ import annotations

import asyncio


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
