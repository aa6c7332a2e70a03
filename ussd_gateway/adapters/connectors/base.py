"""The contract between the delivery worker and a backend connector (``http``, ``govesb``, …).

A connector makes one attempt and reports what happened; it never retries, sleeps or touches
the database: the worker owns the retry policy and the attempt history.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    """The backend took it (2xx, and for a bus a verified success reply)."""
    RETRY = "retry"
    """Might work later: 5xx, 408, 429, timeout, connection error, unverifiable reply."""
    FAILED = "failed"
    """Will not get better by retrying: any other 4xx, a payload the backend rejects."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One submission as a backend sees it; ``reference`` is also the idempotency key."""

    reference: str
    service: str
    backend: str
    channel: str
    language: str
    kind: str | None
    data: Mapping[str, Any]
    phone: str | None
    """None for anonymous submissions."""
    created_at: str
    """ISO 8601, UTC."""
    attempt: int
    """1 for the first attempt."""

    def as_payload(self) -> dict[str, Any]:
        """The default JSON body when a backend declares no payload template."""
        return {
            "reference": self.reference,
            "service": self.service,
            "channel": self.channel,
            "language": self.language,
            "kind": self.kind,
            "data": dict(self.data),
            "phone": self.phone,
            "anonymous": self.phone is None,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class AttemptResult:
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    """Short, single-line, no personal data: it is stored and shown to operators."""
    latency_ms: float = 0.0
    remote_id: str | None = None
    """The backend's own case number, when its reply names one."""
    retry_after: float | None = None
    """Seconds the backend asked us to wait (``Retry-After``), if any."""
    extra: Mapping[str, Any] = field(default_factory=dict)


class Connector(ABC):
    """One configured backend. Built once per worker; shares the worker's HTTP client session."""

    name: str

    @abstractmethod
    async def deliver(self, delivery: Delivery) -> AttemptResult:
        """Make one attempt. Must not raise for backend trouble: report it in the result."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release anything the connector holds beyond the shared client session."""
