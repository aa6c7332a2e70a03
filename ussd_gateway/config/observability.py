"""The ``observability:`` section of config/gateway.yaml: metrics and session events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ussd_gateway.config.settings import ConfigError


@dataclass(frozen=True, slots=True)
class EventSettings:
    """``observability.session_events`` … in config/gateway.yaml."""

    enabled: bool = True
    flush_interval: float = 1.0
    batch_size: int = 200
    queue_size: int = 10_000


@dataclass(frozen=True, slots=True)
class ObservabilitySettings:
    """The ``observability:`` section of config/gateway.yaml."""

    events: EventSettings = field(default_factory=EventSettings)
    metrics_cache: float = 5.0
    """Seconds the figures read from the database are reused between scrapes."""

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> ObservabilitySettings:
        events = section.get("session_events") or {}
        if not isinstance(events, Mapping):
            raise ConfigError("observability.session_events must be a mapping")
        try:
            return cls(
                events=EventSettings(
                    enabled=bool(events.get("enabled", True)),
                    flush_interval=float(events.get("flush_interval", 1.0)),
                    batch_size=max(1, int(events.get("batch_size", 200))),
                    queue_size=max(1, int(events.get("queue_size", 10_000))),
                ),
                metrics_cache=float(section.get("metrics_cache", 5.0)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"observability: {exc}") from exc
