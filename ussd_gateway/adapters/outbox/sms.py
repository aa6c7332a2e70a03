"""The SMS outbox as the channel sees it: queue messages, take delivery reports, opt-outs.

Sending is the worker's (``senders.sms``). Enqueueing ignores a duplicate ``purpose``, so each
SMS is queued, hence sent, once.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.models import SmsMessage, SmsOptOut, utcnow
from ussd_gateway.adapters.outbox.enqueue import enqueue_in, insert_ignoring_duplicates
from ussd_gateway.adapters.outbox.queue import counts
from ussd_gateway.domain.outgoing import OutgoingSms


def international(phone: str) -> str:
    """``+<digits>``: one spelling per number, as the SDK insists and opt-outs compare; some
    aggregators (and hand-typed requests) drop the ``+`` of a number that is international."""
    phone = phone.strip().replace(" ", "")
    return phone if phone.startswith("+") else "+" + phone


FINAL_REPORTS = frozenset({"Success", "Failed", "Rejected"})
"""Delivery-report statuses after which a late "Sent" or "Buffered" must not overwrite."""


class SmsOutbox:
    """What the webhooks, the listeners and the operators read and write."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def enqueue(self, *messages: OutgoingSms) -> None:
        async with self._sessionmaker() as session, session.begin():
            await enqueue_in(session, messages)

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

    async def recent(self, *, status: str | None = None, limit: int = 20) -> list[SmsMessage]:
        """The newest messages first: what an operator or a newcomer reads with ``sms list``."""
        query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
        if status:
            query = query.where(SmsMessage.status == status)
        async with self._sessionmaker() as session:
            return list((await session.scalars(query)).all())

    async def counts(self) -> dict[str, int]:
        return await counts(self._sessionmaker, SmsMessage)

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
