"""A submission the gateway gave up delivering: its citizen was told "received", so they are
told the truth too, once, by SMS.

Queued in the transaction that records the give-up, so the message exists exactly when the
failure does (a crash cannot lose one or send one for a delivery that went through), and its
purpose ``undelivered:<reference>`` sends it once per submission however often an operator's
retry fails again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ussd_gateway.adapters.db.models import DEAD, FAILED, SmsMessage, SmsOptOut, Submission
from ussd_gateway.adapters.outbox.enqueue import enqueue_in
from ussd_gateway.adapters.outbox.sms import international
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.domain.outgoing import OutgoingSms

GIVEN_UP: frozenset[str] = frozenset({FAILED, DEAD})
"""Where a submission the gateway stopped trying to deliver ends."""


def purpose(reference: str) -> str:
    return f"undelivered:{reference}"


@dataclass(frozen=True)
class Undelivered:
    """Queues the "not yet delivered" SMS (``sms.texts.undelivered``) in the citizen's language."""

    sms: SmsConfig

    async def record_in(self, session: AsyncSession, submission_id: int) -> str | None:
        """In the transaction that gave the submission up: the status it ended in (None when a
        backend's report overtook the attempt), the citizen's SMS queued when they may be texted.
        """
        row = (
            await session.execute(
                select(
                    Submission.reference,
                    Submission.status,
                    Submission.phone,
                    Submission.anonymous,
                    Submission.language,
                ).where(Submission.id == submission_id)
            )
        ).one_or_none()
        if row is None or row.status not in GIVEN_UP:
            return None
        phone, drop_phone = row.phone, False
        if phone is None and row.anonymous:
            # anonymous with an SMS receipt: the number is held until that receipt is sent
            # and no longer; past that, nobody to tell
            phone = await session.scalar(
                select(SmsMessage.phone).where(SmsMessage.purpose == f"receipt:{row.reference}")
            )
            drop_phone = True
        if not phone:
            return row.status
        opted_out = await session.scalar(
            select(SmsOptOut.phone).where(SmsOptOut.phone == international(phone))
        )
        if opted_out is not None:
            return row.status
        text = self.sms.text("undelivered", row.language, reference=row.reference)
        message = OutgoingSms(
            purpose=purpose(row.reference),
            phone=phone,
            language=row.language,
            text=text,
            reference=row.reference,
            drop_phone=drop_phone,
        )
        await enqueue_in(session, [message])
        return row.status
