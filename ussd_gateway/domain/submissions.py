"""Plain values passed between the engine and the submission store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ussd_gateway.domain.outgoing import OutgoingSms

REFERENCE_SLOT = "\ue000reference\ue000"
"""Stands for the reference in a receipt rendered before the reference is drawn."""


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """The SMS receipt of a submission, queued in the same transaction as the submission.

    ``text`` holds ``REFERENCE_SLOT`` where the reference goes. ``drop_phone``: the submission
    is anonymous and the citizen agreed to a receipt; the number is erased once it is sent.
    """

    phone: str
    language: str
    text: str
    drop_phone: bool = False

    def message(self, reference: str) -> OutgoingSms:
        """The SMS for the submission stored as ``reference``; its purpose makes a retried hop
        queue nothing new."""
        return OutgoingSms(
            purpose=f"receipt:{reference}",
            phone=self.phone,
            language=self.language,
            text=self.text.replace(REFERENCE_SLOT, reference),
            reference=reference,
            drop_phone=self.drop_phone,
        )


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
    receipt: SmsReceipt | None = None
    """An SMS receipt to queue with the submission (an ``end`` screen's ``sms:``)."""


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


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A backend moved a submission on; what a citizen may be told about it."""

    backend: str
    reference: str
    previous: str
    status: str
    note: str | None
    notes: Mapping[str, str] | None
    reopened: int = 0
    """How often the case has been reopened: a status is told once per reopening."""


StatusListener = Callable[[StatusChange], Awaitable[None]]
