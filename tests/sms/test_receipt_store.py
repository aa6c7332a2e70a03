"""Receipts are written by the submission store in the submission's own transaction."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from tests.support.databases import Database
from ussd_gateway.adapters.db.models import SmsMessage, Submission
from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.domain.submissions import REFERENCE_SLOT, SmsReceipt, SubmissionDraft


def draft(key: str, receipt: bool = True) -> SubmissionDraft:
    return SubmissionDraft(
        idempotency_key=key,
        service="mrejesho",
        backend="feedback",
        channel="ussd",
        language="sw",
        data={"body": "Maji hayatoki"},
        phone="+255712345678",
        receipt=SmsReceipt("+255712345678", "sw", f"Kumbukumbu: {REFERENCE_SLOT}")
        if receipt
        else None,
    )


@pytest.mark.parametrize("group_commit", [True, False])
async def test_concurrent_submissions_get_one_receipt_each(db: Database, group_commit: bool):
    store = SubmissionStore(sessionmaker=db.sessionmaker, group_commit=group_commit)
    keys = [uuid.uuid4().hex for _ in range(20)]
    drafts = [draft(k, receipt=n % 5 != 0) for n, k in enumerate(keys)]
    drafts += [draft(keys[1]), draft(keys[2])]  # retried hops, arriving together
    references = await asyncio.gather(*(store.submit(d) for d in drafts))
    assert references[20:] == [references[1], references[2]]
    async with db.sessionmaker() as session:
        bodies = dict((await session.execute(select(SmsMessage.purpose, SmsMessage.body))).all())
        submissions = await session.scalar(select(func.count()).select_from(Submission))
    assert submissions == 20
    expected = {
        f"receipt:{ref}": f"Kumbukumbu: {ref}"
        for n, ref in enumerate(references[:20])
        if n % 5 != 0
    }
    assert bodies == expected
