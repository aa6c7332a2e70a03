"""Numbers on old SMS go with the submissions' (``ussd-gateway purge``, same retention).

A message still waiting to be sent keeps its number whatever its age; everything else older
than the cutoff loses it. The texts stay (they hold references and labels, not numbers)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.models import SMS_PENDING, SmsMessage


async def purge_sms_numbers(
    sessionmaker: async_sessionmaker[AsyncSession], *, cutoff: dt.datetime, dry_run: bool = False
) -> int:
    """How many SMS created before ``cutoff`` held a number (and lost it, unless a dry run)."""
    old = (
        SmsMessage.created_at < cutoff,
        SmsMessage.status != SMS_PENDING,
        SmsMessage.phone.is_not(None),
    )
    async with sessionmaker() as session, session.begin():
        if dry_run:
            return int(await session.scalar(select(func.count()).where(*old)) or 0)
        result = await session.execute(
            update(SmsMessage)
            .where(*old)
            .values(phone=None)
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)
