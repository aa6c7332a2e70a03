"""The delivery state of submissions as operators and backends see and change it.

Claiming and recording attempts are the worker's (``senders.delivery``); here: listing,
a submission's history, requeueing, a backend's own status reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.models import (
    DEAD,
    FAILED,
    PENDING,
    DeliveryAttempt,
    Submission,
    utcnow,
)
from ussd_gateway.adapters.outbox.queue import counts
from ussd_gateway.domain.references import is_valid, normalise


class DeliveryLedger:
    """What the operators' commands and the status endpoint read and write about delivery."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def find(
        self, *, status: str | None = None, service: str | None = None, limit: int = 100
    ) -> list[Submission]:
        query = select(Submission).order_by(Submission.id.desc()).limit(limit)
        if status:
            query = query.where(Submission.status == status)
        if service:
            query = query.where(Submission.service == service)
        async with self._sessionmaker() as session:
            return list((await session.scalars(query)).all())

    async def show(self, reference: str) -> tuple[Submission, list[DeliveryAttempt]] | None:
        reference = normalise(reference)
        if not is_valid(reference):
            return None
        async with self._sessionmaker() as session:
            submission = await session.scalar(
                select(Submission).where(Submission.reference == reference)
            )
            if submission is None:
                return None
            attempts = await session.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.submission_id == submission.id)
                .order_by(DeliveryAttempt.id)
            )
            return submission, list(attempts.all())

    async def requeue(self, *, reference: str | None = None, dead: bool = False) -> list[str]:
        """Make failed/dead submissions due now with a fresh attempt budget; their references."""
        now = utcnow()
        query = update(Submission).values(
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            requeued_at=now,
            locked_by=None,
            locked_until=None,
            updated_at=now,
        )
        if reference is not None:
            query = query.where(
                Submission.reference == normalise(reference),
                Submission.status.in_((FAILED, DEAD, PENDING)),
            )
        elif dead:
            query = query.where(Submission.status == DEAD)
        else:
            raise ValueError("requeue needs a reference or dead=True")
        query = query.returning(Submission.reference).execution_options(synchronize_session=False)
        async with self._sessionmaker() as session, session.begin():
            return list((await session.scalars(query)).all())

    async def counts(self) -> dict[str, int]:
        return await counts(self._sessionmaker, Submission)

    async def set_backend_status(
        self,
        *,
        backend: str,
        reference: str,
        status: str,
        note: str | None,
        notes: Mapping[str, str] | None,
    ) -> tuple[str, str] | None:
        """A backend's report on its own submission: (old status, new status), None if unknown."""
        reference = normalise(reference)
        if not is_valid(reference):
            return None
        now = utcnow()
        async with self._sessionmaker() as session, session.begin():
            row = (
                await session.execute(
                    select(Submission.id, Submission.status)
                    .where(Submission.reference == reference, Submission.backend == backend)
                    .with_for_update()
                )
            ).one_or_none()
            if row is None:
                return None
            values: dict[str, Any] = {
                "status": status,
                "status_note": note,
                "status_notes": dict(notes) if notes else None,
                "updated_at": now,
            }
            if row.status == PENDING:
                # the backend has it, whatever the worker last recorded
                values |= {"delivered_at": now, "last_error": None}
            await session.execute(
                update(Submission)
                .where(Submission.id == row.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return row.status, status
