"""Status updates: a backend moved a submission on, so its citizen gets a short SMS.

Registered in ``STATUS_LISTENERS``; runs after the status change is committed. Nothing is sent
for anonymous submissions (no number is stored) or to numbers that sent ACHA/STOP. The purpose
``status:<reference>:<status>`` sends each status once, however often a backend repeats it
(``:<n>`` after it once the case has been reopened n times).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.application.sms.status_text import status_label
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.domain.outgoing import OutgoingSms
from ussd_gateway.domain.submissions import StatusChange
from ussd_gateway.engine.definition import MenuDefinition

log = logging.getLogger(__name__)


def purpose(change: StatusChange) -> str:
    """Once per status, and once more after each time the case is reopened."""
    once = f"status:{change.reference}:{change.status}"
    return f"{once}:{change.reopened}" if change.reopened else once


def status_update_listener(
    config: SmsConfig,
    outbox: SmsOutbox,
    sessionmaker: async_sessionmaker[AsyncSession],
    definitions: Callable[[], Mapping[str, MenuDefinition]],
    wake: Callable[[], None],
) -> Callable[[StatusChange], Awaitable[None]]:
    async def tell_the_citizen(change: StatusChange) -> None:
        if change.previous == change.status:
            return
        async with sessionmaker() as session:
            row = (
                await session.execute(
                    select(Submission.phone, Submission.language, Submission.service).where(
                        Submission.reference == change.reference
                    )
                )
            ).one_or_none()
        if row is None or not row.phone:
            return  # anonymous: nobody to tell
        if await outbox.opted_out(row.phone):
            log.info("%s: no status SMS, the citizen opted out", change.reference)
            return
        language = row.language
        note = (change.notes or {}).get(language) or change.note
        text = config.text(
            "status_update",
            language,
            reference=change.reference,
            label=status_label(definitions().get(row.service), change.status, language),
            note=f". {note}" if note else "",
        )
        await outbox.enqueue(
            OutgoingSms(
                purpose=purpose(change),
                phone=row.phone,
                language=language,
                text=text,
                reference=change.reference,
            )
        )
        wake()

    return tell_the_citizen
