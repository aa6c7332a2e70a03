"""``ussd-gateway purge`` also clears numbers from old SMS, but never from waiting ones."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from tests.support.databases import Database
from ussd_gateway.adapters.db.models import SmsMessage
from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.adapters.outbox.sms_purge import purge_sms_numbers
from ussd_gateway.domain.outgoing import OutgoingSms


async def test_old_sent_sms_lose_their_number_waiting_ones_keep_it(db: Database):
    outbox = SmsOutbox(db.sessionmaker)
    await outbox.enqueue(
        OutgoingSms("receipt:OLDSENT2", "+255712000001", "sw", "a"),
        OutgoingSms("receipt:OLDWAIT2", "+255712000002", "sw", "b"),
        OutgoingSms("receipt:NEWSENT2", "+255712000003", "sw", "c"),
    )
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(SmsMessage)
            .where(SmsMessage.purpose.in_(["receipt:OLDSENT2", "receipt:NEWSENT2"]))
            .values(status="sent")
        )
        await session.execute(
            update(SmsMessage)
            .where(SmsMessage.purpose.in_(["receipt:OLDSENT2", "receipt:OLDWAIT2"]))
            .values(created_at=long_ago)
        )
    cutoff = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    assert await purge_sms_numbers(db.sessionmaker, cutoff=cutoff, dry_run=True) == 1
    assert (await outbox.find("receipt:OLDSENT2")).phone == "+255712000001"  # type: ignore[union-attr]
    assert await purge_sms_numbers(db.sessionmaker, cutoff=cutoff) == 1
    phones = {
        purpose: (await outbox.find(purpose)).phone  # type: ignore[union-attr]
        for purpose in ("receipt:OLDSENT2", "receipt:OLDWAIT2", "receipt:NEWSENT2")
    }
    assert phones == {
        "receipt:OLDSENT2": None,
        "receipt:OLDWAIT2": "+255712000002",
        "receipt:NEWSENT2": "+255712000003",
    }


async def test_opt_out_is_one_number_however_it_is_written(db: Database):
    outbox = SmsOutbox(db.sessionmaker)
    await outbox.opt_out("255712345678")
    assert await outbox.opted_out("+255712345678")
    await outbox.opt_in("+255712345678")
    assert not await outbox.opted_out("255712345678")
