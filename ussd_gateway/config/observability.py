"""``observability:``: how often /metrics re-reads the database, and the session event writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from ussd_gateway.config.kinds import SECONDS, above, at_least


@dataclass(frozen=True, slots=True)
class EventSettings:
    """``observability.session_events``: batched writes, never during a hop."""

    enabled: bool = True
    flush_interval: Annotated[float, SECONDS, above(0)] = 1.0
    """Seconds between batched writes."""
    batch_size: Annotated[int, at_least(1)] = 200
    """Write sooner once this many events wait."""
    queue_size: Annotated[int, at_least(1)] = 10_000
    """Events buffered at most; more are dropped and counted."""


@dataclass(frozen=True, slots=True)
class ObservabilitySettings:
    metrics_cache: Annotated[float, SECONDS, at_least(0)] = 5.0
    """Seconds the figures read from the database are reused between scrapes."""
    session_events: EventSettings = field(default_factory=EventSettings)
