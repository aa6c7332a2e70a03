"""The SMS outbox's sender: queued messages go out through the SDK, each outcome is stored.

Without ``AT_API_KEY`` or ``AT_API_BASE_URL`` they are kept in the outbox instead (``local_sms``).

Sending is exactly once per purpose but in one corner: a call that times out after the API
accepted it is retried (the API takes no idempotency key).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import case

from ussd_gateway.adapters.db.models import SMS_SENT, SmsMessage
from ussd_gateway.adapters.outbox.queue import Outcome, Queue, Table
from ussd_gateway.adapters.outbox.senders.at_sdk import AtSender, ClaimedSms, SendResult
from ussd_gateway.adapters.outbox.senders.local_sms import LocalOutbox
from ussd_gateway.adapters.outbox.worker import Pace, Sender, error_line
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.domain.privacy import mask_phone

log = logging.getLogger(__name__)
"""The name operators' log filters know the SMS worker by."""

MESSAGES = Table(SmsMessage, done=SMS_SENT)
"""Its other statuses are called as the submissions' are (``SMS_PENDING``, …)."""

_COLUMNS = (
    SmsMessage.id,
    SmsMessage.purpose,
    SmsMessage.phone,
    SmsMessage.body,
    SmsMessage.link_id,
    SmsMessage.sender,
    SmsMessage.attempts,
    SmsMessage.created_at,
)
_ANONYMOUS_NUMBER_GOES = {"phone": case((SmsMessage.drop_phone, None), else_=SmsMessage.phone)}
"""Done with the message: its number goes if it was only lent to us."""


class SmsApi(Protocol):
    async def send(self, message: ClaimedSms) -> SendResult: ...


class SmsSender(Sender[ClaimedSms, SendResult]):
    """Sends through Africa's Talking; at most ``concurrency`` API calls (threads) at once."""

    kind = "SMS"
    log = log
    table = MESSAGES

    def __init__(self, config: SmsConfig, api: SmsApi | None = None) -> None:
        self.config = config
        self.api: SmsApi = api or (AtSender(config) if config.sends_out else LocalOutbox(config))
        # a call cannot be cancelled in its thread: a stop waits out the API's timeout
        self.pace = Pace.of(config, lease=config.lease, shutdown_grace=config.timeout + 2)

    def label(self, worker: str) -> str:
        return "sms worker"

    async def started(self, queue: Queue, worker: str) -> None:
        config = self.config
        if isinstance(self.api, LocalOutbox):
            log.info(
                "sms worker %s keeping messages in the local outbox (no AT_API_KEY or "
                "AT_API_BASE_URL): read them with `ussd-gateway sms list`",
                worker,
            )
            return
        log.info(
            "sms worker %s sending through %s%s",
            worker,
            config.base_url or "Africa's Talking",
            " (sandbox)" if config.sandbox and not config.base_url else "",
        )

    async def claim(self, queue: Queue, worker: str, limit: int) -> Sequence[ClaimedSms]:
        waiting = (SmsMessage.phone.is_not(None),)
        rows = await queue.claim(worker, limit, self.pace.lease, _COLUMNS, waiting)
        return [ClaimedSms(*row) for row in rows]

    async def send(self, item: ClaimedSms) -> SendResult:
        return await self.api.send(item)

    def raised(self, item: ClaimedSms, exc: Exception) -> SendResult:
        log.exception("sms sender raised")
        return SendResult(Outcome.RETRY, error=error_line(exc))

    async def record(
        self,
        queue: Queue,
        item: ClaimedSms,
        result: SendResult,
        worker: str,
        started: dt.datetime,
    ) -> str:
        now = queue.now()
        values: dict[str, object] = {
            "status_code": result.status_code,
            "provider_status": result.provider_status,
            "last_error": result.error,
        }
        if result.segments is not None:
            values["segments"] = result.segments
        if result.outcome is Outcome.DONE:
            values |= {"message_id": result.message_id, "cost": result.cost, "sent_at": now}
        status = await queue.record(
            item,
            result.outcome,
            worker=worker,
            now=now,
            policy=self.config.retry,
            values=values,
            final=_ANONYMOUS_NUMBER_GOES,
        )
        return status

    def key(self, item: ClaimedSms) -> str:
        return item.purpose

    def report(self, item: ClaimedSms, result: SendResult, status: str) -> None:
        log.info(
            "sms %s to %s attempt %d → %s%s",
            item.purpose,
            mask_phone(item.phone),
            item.attempt,
            status,
            f": {result.error}" if result.error else "",
        )
