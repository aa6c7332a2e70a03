"""The delivery state of submissions as operators and backends see and change it.

Claiming and recording attempts are the worker's (``senders.delivery``); here: listing,
a submission's history, requeueing, a backend's own status reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
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
from ussd_gateway.domain.case_status import REOPENED, Move, check_move, check_order
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
        reported_at: dt.datetime | None = None,
    ) -> TakenReport | None:
        """A backend's report on its own submission; None if unknown.

        Checked against the row under its lock, so two reports racing cannot both move it:
        a repeat of the current status changes nothing, a backward move or a report older
        than the last one taken raises RefusedMove (``domain.case_status``).
        """
        reference = normalise(reference)
        if not is_valid(reference):
            return None
        now = utcnow()
        async with self._sessionmaker() as session, session.begin():
            row = (
                await session.execute(
                    select(
                        Submission.id,
                        Submission.status,
                        Submission.status_reported_at,
                        Submission.reopened,
                    )
                    .where(Submission.reference == reference, Submission.backend == backend)
                    .with_for_update()
                )
            ).one_or_none()
            if row is None:
                return None
            if check_move(row.status, status) is Move.SAME:
                return TakenReport(row.status, status, changed=False, reopened=row.reopened)
            check_order(row.status_reported_at, reported_at, row.status, status)
            values: dict[str, Any] = {
                "status": status,
                "status_note": note,
                "status_notes": dict(notes) if notes else None,
                "updated_at": now,
            }
            if reported_at is not None:
                values["status_reported_at"] = reported_at
            reopened = row.reopened + 1 if status == REOPENED else row.reopened
            if reopened != row.reopened:
                values["reopened"] = reopened
            if row.status == PENDING:
                # the backend has it, whatever the worker last recorded
                values |= {"delivered_at": now, "last_error": None}
            await session.execute(
                update(Submission)
                .where(Submission.id == row.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return TakenReport(row.status, status, changed=True, reopened=reopened)


@dataclass(frozen=True, slots=True)
class TakenReport:
    """What a status report did: the status before, the status now, whether it moved."""

    previous: str
    status: str
    changed: bool
    reopened: int = 0
    """How often the case has been reopened."""
