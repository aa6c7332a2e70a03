"""Plain values passed between the engine and the submission store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SubmissionDraft:
    """What a ``submit`` screen hands over; the store gives it a reference."""

    idempotency_key: str
    """Same key, same submission: a retried or duplicated hop never submits twice."""
    service: str
    backend: str
    channel: str
    language: str
    data: dict[str, Any]
    phone: str | None = None
    """None for anonymous submissions: the number is never stored."""
    anonymous: bool = False
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class SubmissionView:
    """What a citizen may learn about a submission when tracking it (no personal data)."""

    reference: str
    service: str
    status: str
    status_note: str | Mapping[str, str] | None
    """The backend's public note: plain, or per language ({sw, en}) for the citizen's own."""
    created_at: dt.datetime
    updated_at: dt.datetime
    kind: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
