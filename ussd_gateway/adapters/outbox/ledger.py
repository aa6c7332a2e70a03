"""The delivery state of submissions in SQL: claim with a lease, record attempts, requeue.

Claiming is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …``: on
PostgreSQL concurrent workers skip each other's rows; on SQLite the single statement is atomic.
A claimed row stays ``pending`` with ``locked_by``/``locked_until`` set, so a worker that dies
holding it loses it when the lease runs out and another worker picks it up.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.connectors.base import AttemptResult, Delivery, Outcome
from ussd_gateway.adapters.db.claims import claim_due
from ussd_gateway.adapters.db.models import (
    DEAD,
    DELIVERED,
    FAILED,
    PENDING,
    DeliveryAttempt,
    Submission,
    utcnow,
)
from ussd_gateway.config.backends import RetryPolicy
from ussd_gateway.domain.references import is_valid, normalise


@dataclass(frozen=True, slots=True)
class Claim:
    """A submission this worker holds until ``locked_until``; ``attempt`` is this try's number."""

    id: int
    delivery: Delivery
    age_from: dt.datetime

    @property
    def attempt(self) -> int:
        return self.delivery.attempt


@dataclass(frozen=True, slots=True)
class Recorded:
    """What ``record`` decided: the new status, and when the next try is due if any."""

    status: str
    next_attempt_at: dt.datetime | None
    lease_lost: bool = False


class DeliveryLedger:
    """Everything the worker and the operators' commands read and write about delivery."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def claim(
        self, worker: str, limit: int, lease: float, backends: Iterable[str]
    ) -> list[Claim]:
        rows = await claim_due(
            self._sessionmaker,
            Submission,
            pending=PENDING,
            worker=worker,
            limit=limit,
            lease=lease,
            where=(Submission.backend.in_(list(backends)),),
            columns=(
                Submission.id,
                Submission.reference,
                Submission.service,
                Submission.backend,
                Submission.channel,
                Submission.language,
                Submission.kind,
                Submission.data,
                Submission.phone,
                Submission.created_at,
                Submission.requeued_at,
                Submission.attempts,
            ),
        )
        return [
            Claim(
                id=row.id,
                age_from=row.requeued_at or row.created_at,
                delivery=Delivery(
                    reference=row.reference,
                    service=row.service,
                    backend=row.backend,
                    channel=row.channel,
                    language=row.language,
                    kind=row.kind,
                    data=row.data or {},
                    phone=row.phone,
                    created_at=row.created_at.isoformat(),
                    attempt=row.attempts,
                ),
            )
            for row in rows
        ]

    async def record(
        self,
        claim: Claim,
        result: AttemptResult,
        *,
        worker: str,
        started_at: dt.datetime,
        policy: RetryPolicy,
        rng: random.Random | None = None,
    ) -> Recorded:
        """Store the attempt and move the submission on: delivered, failed, retry later or dead."""
        now = utcnow()
        next_at: dt.datetime | None = None
        values: dict[str, Any] = {"locked_by": None, "locked_until": None, "updated_at": now}
        if result.outcome is Outcome.DELIVERED:
            # a backend's status report may have overtaken us: keep it
            status = DELIVERED
            values |= {
                "status": _if_pending(DELIVERED),
                "delivered_at": now,
                "remote_id": result.remote_id,
                "last_error": None,
            }
        elif result.outcome is Outcome.FAILED:
            status = FAILED
            values |= {"status": _if_pending(FAILED), "last_error": result.error}
        else:
            age = (now - claim.age_from).total_seconds()
            wait = policy.next_wait(claim.attempt, age, rng, result.retry_after)
            if wait is None:
                status = DEAD
                values |= {"status": _if_pending(DEAD), "last_error": result.error}
            else:
                status = PENDING
                next_at = now + dt.timedelta(seconds=wait)
                values |= {"next_attempt_at": next_at, "last_error": result.error}
        attempt_row = {
            "submission_id": claim.id,
            "reference": claim.delivery.reference,
            "attempt": claim.attempt,
            "started_at": started_at,
            "status_code": result.status_code,
            "outcome": result.outcome.value,
            "error": result.error,
            "latency_ms": float(result.latency_ms),
            "worker": worker,
        }
        mine = and_(Submission.id == claim.id, Submission.locked_by == worker)
        async with self._sessionmaker() as session, session.begin():
            await session.execute(insert(DeliveryAttempt).values(**attempt_row))
            changed = await session.execute(
                update(Submission)
                .where(mine)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            lease_lost = not getattr(changed, "rowcount", 0)
            if lease_lost and result.outcome is Outcome.DELIVERED:
                # another worker took it over after our lease ran out; the key absorbs the
                # duplicate at the backend, and the delivery still counts
                await session.execute(
                    update(Submission)
                    .where(Submission.id == claim.id, Submission.status == PENDING)
                    .values(
                        status=DELIVERED,
                        delivered_at=now,
                        remote_id=result.remote_id,
                        last_error=None,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
        return Recorded(status, next_at, lease_lost)

    async def hurry(self, backend: str) -> int:
        """Make every waiting submission for ``backend`` due now (it has just come back)."""
        now = utcnow()
        query = (
            update(Submission)
            .where(
                Submission.backend == backend,
                Submission.status == PENDING,
                Submission.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(query)
        return int(getattr(result, "rowcount", 0) or 0)

    async def release(self, worker: str, ids: Sequence[int]) -> None:
        """Give back leases (graceful shutdown): the rows are due again at once, and the
        interrupted attempt does not count against ``max_attempts``."""
        if not ids:
            return
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(Submission)
                .where(Submission.id.in_(list(ids)), Submission.locked_by == worker)
                .values(
                    locked_by=None,
                    locked_until=None,
                    attempts=case((Submission.attempts > 0, Submission.attempts - 1), else_=0),
                )
                .execution_options(synchronize_session=False)
            )

    # --- operators -------------------------------------------------------------------------

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
        query = select(Submission.status, func.count()).group_by(Submission.status)
        async with self._sessionmaker() as session:
            return {status: n for status, n in (await session.execute(query)).all()}

    async def pending_by_backend(self) -> dict[str, int]:
        query = (
            select(Submission.backend, func.count())
            .where(Submission.status == PENDING)
            .group_by(Submission.backend)
        )
        async with self._sessionmaker() as session:
            return {backend: n for backend, n in (await session.execute(query)).all()}

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


def _if_pending(status: str) -> Any:
    """``status`` unless a backend's report has already moved the submission on."""
    return case((Submission.status == PENDING, status), else_=Submission.status)
