"""Submissions as operators may see them (command line and admin endpoints alike): no phone
number in clear, no answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ussd_gateway.adapters.db.models import DeliveryAttempt, Submission
from ussd_gateway.domain.privacy import mask_phone


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def who(submission: Submission) -> str:
    return "anonymous" if submission.anonymous else mask_phone(submission.phone)


def summary(submission: Submission) -> dict[str, Any]:
    """A submission as operators may see it: no phone number, no answers."""
    return {
        "reference": submission.reference,
        "service": submission.service,
        "backend": submission.backend,
        "status": submission.status,
        "attempts": submission.attempts,
        "phone": who(submission),
        "kind": submission.kind,
        "created_at": iso(submission.created_at),
        "next_attempt_at": iso(submission.next_attempt_at),
        "delivered_at": iso(submission.delivered_at),
        "remote_id": submission.remote_id,
        "last_error": submission.last_error,
        "status_note": submission.status_notes or submission.status_note,
    }


def attempt_row(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "started_at": iso(attempt.started_at),
        "status_code": attempt.status_code,
        "outcome": attempt.outcome,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
        "worker": attempt.worker,
    }
