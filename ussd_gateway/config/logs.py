"""``logging:`` and ``LOG_FORMAT``/``LOG_LEVEL``: how log lines look and which are written."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from ussd_gateway.config.kinds import Kind, one_of
from ussd_gateway.config.loader import setting

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _level(value: Any) -> str:
    level = str(value).strip().upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ValueError(value)
    return level


LogLevel = Annotated[str, Kind("one of " + ", ".join(LEVELS), _level)]


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    format: Annotated[str, one_of("text", "json", fold=True)] = field(
        default="text", metadata=setting(env="LOG_FORMAT")
    )
    """``text``, or ``json``: one object per line, with ``request_id``."""
