"""The SMS outbox in SQL: enqueue once per purpose, claim with a lease, record what happened.

Like the forwarding ledger: claiming is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED) RETURNING …``, so workers on PostgreSQL skip each other's rows and SQLite's single
statement is atomic. A claimed row stays ``pending`` with a lease; a worker that dies holding it
loses it when the lease runs out. ``purpose`` is unique and enqueueing ignores a duplicate, so a
retried hop, a retried callback or two processes racing queue one SMS, not two.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.claims import claim_due
from ussd_gateway.adapters.db.models import (
    SMS_DEAD,
    SMS_FAILED,
    SMS_PENDING,
    SMS_SENT,
    SmsMessage,
    SmsOptOut,
    utcnow,
)
from ussd_gateway.config.backends import RetryPolicy


def international(phone: str) -> str:
    """``+<digits>``: one spelling per number, as the SDK insists and opt-outs compare; some
    aggregators (and hand-typed requests) drop the ``+`` of a number that is international."""
    phone = phone.strip().replace(" ", "")
    return phone if phone.startswith("+") else "+" + phone


FINAL_REPORTS = frozenset({"Success", "Failed", "Rejected"})
"""Delivery-report statuses after which a late "Sent" or "Buffered" must not overwrite."""


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    """An SMS to queue; ``purpose`` is its once-only key."""

    purpose: str
    phone: str
    language: str
    text: str
    reference: str | None = None
    link_id: str | None = None
    sender: str | None = None
    drop_phone: bool = False
    """Anonymous receipts: the number is erased once the message is sent (or given up)."""

    def values(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose[:200],
            "phone": self.phone,
            "language": self.language,
            "body": self.text,
            "reference": self.reference,
            "link_id": self.link_id,
            "sender": self.sender,
            "drop_phone": self.drop_phone,
        }


@functools.cache
def insert_ignoring_duplicates(dialect: str, table: Any = SmsMessage.__table__) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``table`` (the outbox) for ``dialect``; built
    once per pair (a receipt batch rides on a submitting hop's path)."""
    if dialect == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


async def enqueue_in(
    session: AsyncSession | AsyncConnection, messages: Sequence[OutgoingSms]
) -> None:
    """Queue ``messages`` in the caller's transaction (receipts share the submission's)."""
    if messages:
        bind = session if isinstance(session, AsyncConnection) else session.bind
        statement = insert_ignoring_duplicates(bind.dialect.name)
        await session.execute(statement, [m.values() for m in messages])


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one call to the SMS API said about our one recipient."""

    outcome: Outcome
    message_id: str | None = None
    cost: str | None = None
    status_code: int | None = None
    provider_status: str | None = None
    error: str | None = None
    segments: int | None = None


@dataclass(frozen=True, slots=True)
class ClaimedSms:
    id: int
    purpose: str
    phone: str
    text: str
    link_id: str | None
    sender: str | None
    attempt: int
    created_at: dt.datetime


class SmsOutbox:
    """Everything the SMS worker, the webhooks and the listeners read and write."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def enqueue(self, *messages: OutgoingSms) -> None:
        async with self._sessionmaker() as session, session.begin():
            await enqueue_in(session, messages)

    async def claim(self, worker: str, limit: int, lease: float) -> list[ClaimedSms]:
        rows = await claim_due(
            self._sessionmaker,
            SmsMessage,
            pending=SMS_PENDING,
            worker=worker,
            limit=limit,
            lease=lease,
            where=(SmsMessage.phone.is_not(None),),
            columns=(
                SmsMessage.id,
                SmsMessage.purpose,
                SmsMessage.phone,
                SmsMessage.body,
                SmsMessage.link_id,
                SmsMessage.sender,
                SmsMessage.attempts,
                SmsMessage.created_at,
            ),
        )
        return [
            ClaimedSms(
                r.id, r.purpose, r.phone, r.body, r.link_id, r.sender, r.attempts, r.created_at
            )
            for r in rows
        ]

    async def record(
        self,
        claim: ClaimedSms,
        result: SendResult,
        *,
        worker: str,
        policy: RetryPolicy,
        rng: random.Random | None = None,
    ) -> str:
        """Store the attempt's outcome; the message's new status."""
        now = utcnow()
        values: dict[str, Any] = {
            "locked_by": None,
            "locked_until": None,
            "updated_at": now,
            "status_code": result.status_code,
            "provider_status": result.provider_status,
            "last_error": result.error,
        }
        if result.segments is not None:
            values["segments"] = result.segments
        if result.outcome is Outcome.ACCEPTED:
            status = SMS_SENT
            values |= {"message_id": result.message_id, "cost": result.cost, "sent_at": now}
        elif result.outcome is Outcome.FAILED:
            status = SMS_FAILED
        else:
            wait = policy.next_wait(claim.attempt, (now - claim.created_at).total_seconds(), rng)
            if wait is None:
                status = SMS_DEAD
            else:
                status = SMS_PENDING
                values["next_attempt_at"] = now + dt.timedelta(seconds=wait)
        values["status"] = status
        if status != SMS_PENDING:  # done with the number if it was only lent to us
            values["phone"] = case((SmsMessage.drop_phone, None), else_=SmsMessage.phone)
        mine = and_(SmsMessage.id == claim.id, SmsMessage.locked_by == worker)
        async with self._sessionmaker() as session, session.begin():
            changed = await session.execute(
                update(SmsMessage)
                .where(mine)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if not getattr(changed, "rowcount", 0) and status == SMS_SENT:
                # our lease ran out meanwhile, but the API took it: it counts as sent
                await session.execute(
                    update(SmsMessage)
                    .where(SmsMessage.id == claim.id, SmsMessage.status == SMS_PENDING)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
        return status

    async def release(self, worker: str, ids: Sequence[int]) -> None:
        """Give back leases at shutdown; the interrupted attempt does not count."""
        if not ids:
            return
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(SmsMessage)
                .where(SmsMessage.id.in_(list(ids)), SmsMessage.locked_by == worker)
                .values(
                    locked_by=None,
                    locked_until=None,
                    attempts=case((SmsMessage.attempts > 0, SmsMessage.attempts - 1), else_=0),
                )
                .execution_options(synchronize_session=False)
            )

    async def report(
        self, message_id: str, status: str, failure_reason: str | None, network: str | None
    ) -> bool:
        """A delivery report; False when no message has that id. A repeat changes nothing new,
        and a late non-final report never overwrites a final one."""
        now = utcnow()
        query = update(SmsMessage).where(SmsMessage.message_id == message_id)
        if status not in FINAL_REPORTS:
            query = query.where(
                or_(
                    SmsMessage.provider_status.is_(None),
                    SmsMessage.provider_status.not_in(list(FINAL_REPORTS)),
                )
            )
        query = query.values(
            provider_status=status,
            failure_reason=failure_reason or None,
            network_code=network or SmsMessage.network_code,
            reported_at=now,
            updated_at=now,
        ).execution_options(synchronize_session=False)
        async with self._sessionmaker() as session, session.begin():
            changed = await session.execute(query)
            if getattr(changed, "rowcount", 0):
                return True
            known = await session.scalar(
                select(SmsMessage.id).where(SmsMessage.message_id == message_id).limit(1)
            )
        return known is not None

    async def find(self, purpose: str) -> SmsMessage | None:
        async with self._sessionmaker() as session:
            return await session.scalar(select(SmsMessage).where(SmsMessage.purpose == purpose))

    async def counts(self) -> dict[str, int]:
        query = select(SmsMessage.status, func.count()).group_by(SmsMessage.status)
        async with self._sessionmaker() as session:
            return {status: n for status, n in (await session.execute(query)).all()}

    # --- opt-outs ---------------------------------------------------------------------------

    async def opt_out(self, phone: str) -> None:
        phone = international(phone)
        async with self._sessionmaker() as session, session.begin():
            insert = insert_ignoring_duplicates(session.bind.dialect.name, SmsOptOut.__table__)
            await session.execute(insert, {"phone": phone})

    async def opt_in(self, phone: str) -> None:
        phone = international(phone)
        async with self._sessionmaker() as session, session.begin():
            await session.execute(delete(SmsOptOut).where(SmsOptOut.phone == phone))

    async def opted_out(self, phone: str) -> bool:
        phone = international(phone)
        async with self._sessionmaker() as session:
            found = await session.scalar(select(SmsOptOut.phone).where(SmsOptOut.phone == phone))
        return found is not None
