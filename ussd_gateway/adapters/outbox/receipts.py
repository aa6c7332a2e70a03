"""Receipts: queued in the very transaction that stores the submission.

Why there: a receipt queued afterwards, in a second transaction, could be lost to a crash
between the two, and one queued by a background task could be lost to a restart. Inside the
submission's own transaction it costs one more INSERT in a round trip the hop already pays (in
a group commit, one more multi-row INSERT per batch), and it exists exactly when the submission
does. Its purpose ``receipt:<reference>`` makes a retried hop queue nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ussd_gateway.adapters.outbox.sms import OutgoingSms, enqueue_in
from ussd_gateway.domain.submissions import REFERENCE_SLOT, SmsReceipt

RECEIPT_KEY = "_sms_receipt"
"""Where a submission's receipt rides along with its column values until it is written."""


def receipt_message(reference: str, receipt: SmsReceipt) -> OutgoingSms:
    return OutgoingSms(
        purpose=f"receipt:{reference}",
        phone=receipt.phone,
        language=receipt.language,
        text=receipt.text.replace(REFERENCE_SLOT, reference),
        reference=reference,
        drop_phone=receipt.drop_phone,
    )


async def enqueue_receipts(
    session: AsyncSession | AsyncConnection, receipts: Iterable[tuple[str, SmsReceipt | None]]
) -> None:
    """Queue the receipt of each ``(reference, receipt)`` in ``session``'s transaction."""
    await enqueue_in(
        session, [receipt_message(ref, receipt) for ref, receipt in receipts if receipt]
    )
