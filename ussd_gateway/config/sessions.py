"""``sessions:`` and ``navigation:``: how long a journey lives, and the keys every service gets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from ussd_gateway.config.kinds import NOT_EMPTY, SECONDS, above, at_least
from ussd_gateway.config.loader import Invalid

Key = Annotated[str, NOT_EMPTY]


@dataclass(frozen=True)
class SessionSettings:
    ttl: Annotated[float, SECONDS, above(0)] = 180.0
    """Seconds a session lives after its last hop (telcos end sessions at ~180 s)."""
    resume_window: Annotated[float, SECONDS, at_least(0)] = 300.0
    """Seconds during which a dropped journey is offered again to the same number."""
    nudge_interval: Annotated[float, SECONDS, at_least(0)] = 15.0
    """Seconds between two looks for dropped journeys to nudge by SMS (services with
    ``nudge:`` in their menu file); 0: never look."""


@dataclass(frozen=True, slots=True)
class NavigationKeys:
    """Keys every service gets for free (configurable in gateway.yaml)."""

    back: Key = "0"
    home: Key = "00"
    more: Key = "98"
    directory: Key = "000"
    """Back to the directory of services, from inside a service reached through one."""

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for name in ("back", "home", "more", "directory"):
            key = getattr(self, name)
            if key in seen:
                raise Invalid(name, f"a key other than {seen[key]}'s", key)
            seen[key] = name

    @property
    def reserved(self) -> frozenset[str]:
        return frozenset({self.back, self.home, self.more, self.directory})

    def footer(self, word: Callable[[str], str], *, more: bool, back: bool, home: bool) -> str:
        """The line under a screen, e.g. ``98.Zaidi 0.Rudi 00.Mwanzo``; ``word`` translates."""
        parts = []
        if more:
            parts.append(f"{self.more}.{word('more')}")
        if back:
            parts.append(f"{self.back}.{word('back')}")
        if home:
            parts.append(f"{self.home}.{word('home')}")
        return " ".join(parts)
