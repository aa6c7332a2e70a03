"""How ``fetch`` screens ask backends during a hop (``fetch:`` section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from ussd_gateway.config.kinds import SECONDS, above, at_least, between

HOP_SHARE = 0.8
"""Of the hop's own deadline (``limits.hop_deadline``), the most a fetch may take: the rest is
for loading and saving the session, so the citizen gets the ``unavailable`` screen, not the
guard's "still working" one."""


@dataclass(frozen=True)
class FetchSettings:
    timeout: Annotated[float, SECONDS, above(0)] = 1.5
    """Seconds one fetch may take, capped at 80 % of ``limits.hop_deadline``."""
    breaker_failures: Annotated[int, at_least(1)] = 3
    """Failures in a row (timeout, refused, 5xx, bad reply) that open a backend's circuit."""
    breaker_cooldown: Annotated[float, SECONDS, above(0)] = 30.0
    """Seconds an open circuit answers ``unavailable`` at once before one request tries again."""
    max_reply_bytes: Annotated[int, between(1, 16 * 1024 * 1024)] = 64 * 1024
    """A longer reply body is a bad reply (``unavailable``), not read to its end."""
    max_depth: Annotated[int, between(1, 200)] = 20
    """JSON nested deeper than this is a bad reply."""
    cache_entries: Annotated[int, at_least(0)] = 10_000
    """Answers kept for screens with ``cache:`` (in each process's memory), oldest dropped."""

    def deadline(self, hop_deadline: float) -> float:
        """Seconds a fetch may take within a hop that must answer in ``hop_deadline`` (0: none)."""
        return min(self.timeout, hop_deadline * HOP_SHARE) if hop_deadline > 0 else self.timeout
