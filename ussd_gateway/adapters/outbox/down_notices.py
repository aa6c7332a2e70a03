"""A backend that is down, said once and then calmly: not one log line per retry.

A dead backend makes every waiting submission fail on every attempt; logging each attempt
buries the one fact an operator needs (which backend, since when, why) under hundreds of
lines, and on a fresh machine without the demo backend it looked like the gateway was broken.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

QUIET_FOR = 300.0
"""Seconds between reminders that a backend is still down."""


@dataclass
class _Down:
    since: float
    reported: float
    failures: int
    error: str


class DownNotices:
    """What to say, if anything, after each attempt on a backend."""

    def __init__(
        self, *, quiet_for: float = QUIET_FOR, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.quiet_for = quiet_for
        self.clock = clock
        self._down: dict[str, _Down] = {}

    def is_down(self, backend: str) -> bool:
        return backend in self._down

    def failed(self, backend: str, error: str) -> str | None:
        """A warning the first time and then every ``quiet_for`` seconds; None in between."""
        now = self.clock()
        down = self._down.get(backend)
        if down is None:
            self._down[backend] = _Down(now, now, 1, error)
            return (
                f"backend {backend} is failing: {error}; submissions wait and are retried "
                f"(next notice in {self.quiet_for:.0f} s if it goes on)"
            )
        down.failures += 1
        down.error = error
        if now - down.reported < self.quiet_for:
            return None
        down.reported = now
        return (
            f"backend {backend} still failing after {now - down.since:.0f} s "
            f"({down.failures} failed attempts): {error}"
        )

    def delivered(self, backend: str) -> str | None:
        """One line when a backend that was failing takes a delivery again."""
        down = self._down.pop(backend, None)
        if down is None:
            return None
        return (
            f"backend {backend} is delivering again after {self.clock() - down.since:.0f} s "
            f"and {down.failures} failed attempts"
        )
