"""A circuit breaker per backend: a system that keeps failing is not asked for a while.

Closed: every request goes. After ``failures`` failures in a row it opens: requests answer
``unavailable`` at once for ``cooldown`` seconds, so citizens do not each wait out the timeout.
Then one request tries (half-open); its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

from collections.abc import Callable


class Breaker:
    def __init__(self, failures: int, cooldown: float, clock: Callable[[], float]) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self.failures = 0
        self.open_until: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self.open_until is None:
            return "closed"
        return "open" if self._clock() < self.open_until or self._trial else "half-open"

    def allow(self) -> bool:
        """Whether a request may go now (half-open: only the one trial)."""
        if self.open_until is None:
            return True
        if self._clock() < self.open_until or self._trial:
            return False
        self._trial = True
        return True

    def success(self) -> None:
        self.failures = 0
        self.open_until = None
        self._trial = False

    def failure(self) -> None:
        self.failures += 1
        self._trial = False
        if self.failures >= self.threshold:
            self.open_until = self._clock() + self.cooldown

    def release(self) -> None:
        """A request that ended without a verdict (cancelled): let the next one try."""
        self._trial = False
