"""A question to a backend during a hop (``fetch`` screens) and its answer, as plain data."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Answer(enum.Enum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the backend said: a JSON document when found; nothing otherwise (the reason is for
    logs only, never for the citizen)."""

    answer: Answer
    document: Any = None
    reason: str = ""
    cached: bool = False


@dataclass(frozen=True, slots=True)
class FetchRequest:
    backend: str
    fields: Mapping[str, str]
    """The screen's ``request:`` rendered: names to values a citizen may have typed."""
    timeout: float
    """Seconds the whole question may take, the circuit breaker's wait included."""
    cache: float = 0.0
    """Seconds a found/not-found answer to the same fields may be reused (0: never)."""
    screen: str = field(default="", compare=False)
