"""``privacy:``: what ``ussd-gateway purge`` clears from old submissions, and after how long."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from ussd_gateway.config.kinds import above

DEFAULT_PERSONAL_KEYS: tuple[str, ...] = ("name", "phone")


@dataclass(frozen=True)
class PrivacyConfig:
    retention_days: Annotated[float, above(0)] = 365.0
    personal_keys: tuple[str, ...] = DEFAULT_PERSONAL_KEYS
    """Answers cleared with the number (the rest stay for statistics)."""
