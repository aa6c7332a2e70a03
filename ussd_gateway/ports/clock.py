"""Time, as the application reads it: tests move a clock instead of sleeping through a TTL,
a rate-limit window or a menu version's retention."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds: agreed across processes (rate-limit windows, timestamps)."""
        ...

    def monotonic(self) -> float:
        """Seconds for durations and expiries within this process."""
        ...


class SystemClock:
    """The machine's clocks."""

    @staticmethod
    def time() -> float:
        return time.time()

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()


SYSTEM_CLOCK = SystemClock()
