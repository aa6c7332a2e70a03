"""What the engine needs from the outside world, as an interface it does not implement."""

from __future__ import annotations

from typing import Protocol

from ussd_gateway.domain.submissions import SubmissionDraft, SubmissionView


class EnginePorts(Protocol):
    """Submission storage as seen by ``submit`` and ``lookup`` screens.

    Implementations raise any exception when they cannot answer; the screen then shows a polite
    hint instead of losing the citizen's journey.
    """

    async def submit(self, draft: SubmissionDraft) -> str:
        """Store the draft durably and return its reference (idempotent on its key)."""
        ...

    async def get(self, reference: str) -> SubmissionView | None: ...

    async def existing(self, idempotency_key: str) -> str | None:
        """The reference of the submission stored under this key, if any (``once_per``)."""
        ...
