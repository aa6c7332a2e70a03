"""An SMS to send, as it is queued: a plain value, whoever composed it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    """An SMS to queue; ``purpose`` is its once-only key (``receipt:<reference>``, …)."""

    purpose: str
    phone: str
    language: str
    text: str
    reference: str | None = None
    link_id: str | None = None
    sender: str | None = None
    drop_phone: bool = False
    """Anonymous receipts: the number is erased once the message is sent (or given up)."""
