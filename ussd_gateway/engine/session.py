"""Runtime state of one citizen's journey, kept apart from the immutable menu definition."""

from __future__ import annotations

import enum
import json
import time
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class Session:
    """Everything needed to continue a journey on any web process.

    Kept small and JSON-serialisable: it travels to Redis and back on every hop.
    """

    key: str
    """Store key of the session: ``<provider>:<aggregator session id>``."""
    service: str
    phone: str
    language: str
    screen: str = ""
    vars: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    """Screens shown before the current one, for the back key."""
    page: int = 0
    """Page of the current list screen."""
    status: SessionStatus = SessionStatus.ACTIVE
    consumed: str = ""
    """How much of a cumulative provider ``text`` has been turned into entries."""
    last_reply: str = ""
    last_end: bool = False
    hops: int = 0
    started_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    resume_from: str | None = None
    """Key of a dropped session offered for resumption on this session's first screen."""
    version: str = ""
    """Content hash of the menu definition this session started on."""
    submissions: int = 0
    """Submissions made in this session: each gets its own idempotency key."""
    marker: str = ""
    """The aggregator's id of the last hop, for providers that send only the newest entry."""
    end_reason: str = ""
    """Why the aggregator said the session ended (``timeout``, ``release``, ``Incomplete``…)."""
    directory: str = ""
    """The directory of services this session came through (its key leads back there)."""

    @property
    def in_journey(self) -> bool:
        """True when a dropped call here would lose something the citizen typed or chose."""
        return self.status is SessionStatus.ACTIVE and len(self.history) >= 2

    def copy(self) -> Session:
        return replace(self, vars=dict(self.vars), history=list(self.history))

    def dumps(self) -> str:
        """Compact JSON: fields at their default are left out.

        It travels to Redis and back on every hop and lives there per session, so every byte
        counts; ``loads`` fills the defaults back in.
        """
        data: dict[str, Any] = {name: getattr(self, name) for name in _ALWAYS}
        for name, default in _DEFAULTS:
            value = getattr(self, name)
            if value != default:
                data[name] = value
        return _encode(data)

    @classmethod
    def loads(cls, raw: str | bytes) -> Session:
        data = json.loads(raw)
        data["status"] = SessionStatus(data.get("status", "active"))
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


_ALWAYS = ("key", "service", "phone", "language", "started_at", "updated_at")
_DEFAULTS: tuple[tuple[str, Any], ...] = tuple(
    (f.name, f.default_factory() if f.default is MISSING else f.default)  # type: ignore[misc]
    for f in fields(Session)
    if f.name not in _ALWAYS
)
"""Fields ``dumps`` leaves out when at these values (mutable ones compared, never shared)."""

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
