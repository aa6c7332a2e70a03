"""Runtime state of one citizen's journey, kept apart from the immutable menu definition."""

from __future__ import annotations

import enum
import json
import time
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import orjson


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
    entry_len: int = 0
    """Length of what the last hop's request carried, the tail of ``consumed``: a request with
    the last hop's marker is its retry only when it carries that again (an int, not a copy)."""
    markers_repeat: bool = False
    """The aggregator sent the last hop's marker with a new entry: in this session its markers
    do not tell hops apart."""
    end_reason: str = ""
    """Why the aggregator said the session ended (``timeout``, ``release``, ``Incomplete``…)."""
    directory: str = ""
    """The directory of services this session came through (its key leads back there)."""
    journey: str = ""
    """Key of the session this journey began in, when resumed into another: submissions keep
    the idempotency key they had there, so a redial cannot file the same request twice."""
    submitting: str = ""
    """A submit screen whose write outlasted the hop: it may still land, so the next hop looks
    for it before anything else."""
    unseen: bool = False
    """It ended on a submission after the citizen was told "still working": the final screen
    (the reference) may never have reached them, so a redial shows it once."""

    @property
    def in_journey(self) -> bool:
        """True when a dropped call here would lose something the citizen typed or chose."""
        return self.status is SessionStatus.ACTIVE and len(self.history) >= 2

    def copy(self) -> Session:
        """An independent copy (its own ``vars`` and ``history``), made two or three times a hop.

        Field by field: ``dataclasses.replace`` costs seven times as much (it checks every
        field and calls ``__init__`` by keyword). A field added to the class but not here is
        caught by ``tests/engine/test_session_encoding.py``.
        """
        new = _new(Session)
        new.key = self.key
        new.service = self.service
        new.phone = self.phone
        new.language = self.language
        new.screen = self.screen
        new.vars = dict(self.vars)
        new.history = list(self.history)
        new.page = self.page
        new.status = self.status
        new.consumed = self.consumed
        new.last_reply = self.last_reply
        new.last_end = self.last_end
        new.hops = self.hops
        new.started_at = self.started_at
        new.updated_at = self.updated_at
        new.resume_from = self.resume_from
        new.version = self.version
        new.submissions = self.submissions
        new.marker = self.marker
        new.entry_len = self.entry_len
        new.markers_repeat = self.markers_repeat
        new.end_reason = self.end_reason
        new.directory = self.directory
        new.journey = self.journey
        new.submitting = self.submitting
        new.unseen = self.unseen
        return new

    def dumps(self) -> str:
        """Compact JSON (orjson: a third of the stdlib's cost, same JSON): fields at their
        default are left out.

        It travels to Redis and back on every hop and lives there per session, so every byte
        counts; ``loads`` fills the defaults back in.
        """
        data: dict[str, Any] = {name: getattr(self, name) for name in _ALWAYS}
        for name, default in _DEFAULTS:
            value = getattr(self, name)
            if value != default:
                data[name] = value
        try:
            return orjson.dumps(data).decode()
        except TypeError:  # what orjson refuses (an int key, an int past 64 bits): the stdlib's
            return _encode(data)

    @classmethod
    def loads(cls, raw: str | bytes) -> Session:
        try:
            data = orjson.loads(raw)
        except ValueError:  # what only the stdlib reads (NaN); still invalid: its error, as before
            data = json.loads(raw)
        status = data.get("status", "active")
        data["status"] = _STATUSES.get(status) or SessionStatus(status)
        try:
            return cls(**data)
        except TypeError:  # a field from a newer version of this class: left out
            known = cls.__dataclass_fields__
            return cls(**{k: v for k, v in data.items() if k in known})


_ALWAYS = ("key", "service", "phone", "language", "started_at", "updated_at")
_DEFAULTS: tuple[tuple[str, Any], ...] = tuple(
    (f.name, f.default_factory() if f.default is MISSING else f.default)  # type: ignore[misc]
    for f in fields(Session)
    if f.name not in _ALWAYS
)
"""Fields ``dumps`` leaves out when at these values (mutable ones compared, never shared)."""

_new = object.__new__
_STATUSES = {status.value: status for status in SessionStatus}

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
