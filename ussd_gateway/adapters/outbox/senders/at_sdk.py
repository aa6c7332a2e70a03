"""Sending one SMS through the ``africastalking`` SDK (2.0.3), off the event loop.

The SDK is blocking (``requests``): every call runs in a thread. Its quirks, handled here:
a non-2xx raises ``AfricasTalkingException`` with the body as message; the reply is a dict only
when the content type is exactly ``application/json`` (else a string we parse); per recipient,
statusCode 100-102 means accepted and 4xx/5xx a failure. The base URL lives on the service
object (``_baseUrl`` for bulk SMS, ``_contentUrl`` for premium), so ``AT_API_BASE_URL`` is
applied there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

from ussd_gateway.adapters.outbox.queue import Outcome
from ussd_gateway.adapters.outbox.sms import international
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.domain.sms_text import fit, segments

ACCEPTED_CODES = range(100, 103)
"""100 Processed, 101 Sent, 102 Queued."""
PERMANENT_CODES = frozenset({402, 403, 404, 406, 409})
"""Invalid sender id, invalid number, unsupported number type, blacklisted, do-not-disturb:
the same message to the same number will never go through. Everything else (401 risk hold,
405 insufficient balance, 407 could not route, 5xx) is worth another try later: an operator
can top up or the route can come back, and the backoff keeps the retries cheap."""


@dataclass(frozen=True, slots=True)
class ClaimedSms:
    """A queued SMS a worker holds the lease of."""

    id: int
    purpose: str
    phone: str
    text: str
    link_id: str | None
    sender: str | None
    attempt: int
    created_at: dt.datetime

    @property
    def age_from(self) -> dt.datetime:
        return self.created_at


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one call to the SMS API said about our one recipient (``DONE``: accepted)."""

    outcome: Outcome
    message_id: str | None = None
    cost: str | None = None
    status_code: int | None = None
    provider_status: str | None = None
    error: str | None = None
    segments: int | None = None


def make_service(config: SmsConfig) -> SMSService:
    """The SDK's SMS service, pointed at ``AT_API_BASE_URL`` when set."""
    service = SMSService(config.username, config.api_key)
    if config.base_url:
        service._baseUrl = config.base_url + "/version1"
        service._contentUrl = config.base_url + "/version1"
    return service


class AtSender:
    """Sends claimed messages; one SDK service object shared by the worker's threads."""

    def __init__(self, config: SmsConfig, service: SMSService | None = None) -> None:
        self.config = config
        self.service = service or make_service(config)

    async def send(self, message: ClaimedSms) -> SendResult:
        text = fit(message.text, self.config.max_segments)
        parts = segments(text)
        try:
            reply = await asyncio.to_thread(self._call, message, text)
        except ValueError as exc:  # the SDK's own number check: no retry can fix it
            return SendResult(Outcome.FAILED, error=_line(exc), segments=parts)
        except AfricasTalkingException as exc:  # non-2xx: the API is down or refusing
            return SendResult(Outcome.RETRY, error=f"API error: {_line(exc)}", segments=parts)
        except requests.RequestException as exc:  # connection refused, timeout...
            return SendResult(Outcome.RETRY, error=_line(exc), segments=parts)
        result = interpret(reply, international(message.phone))
        return SendResult(
            result.outcome,
            result.message_id,
            result.cost,
            result.status_code,
            result.provider_status,
            result.error,
            parts,
        )

    def _call(self, message: ClaimedSms, text: str) -> Any:
        """Runs in a worker thread."""
        timeout = (min(3.05, self.config.timeout), self.config.timeout)
        to = international(message.phone)
        if message.link_id:
            return self.service.send_premium(
                text,
                message.sender or self.config.short_code or "",
                [to],
                link_id=message.link_id,
                timeout=timeout,
            )
        return self.service.send(
            text,
            [to],
            sender_id=message.sender or self.config.sender_id,
            timeout=timeout,
        )


def interpret(reply: Any, phone: str) -> SendResult:
    """Our recipient's fate from the API's reply (a dict, or a string to parse)."""
    if isinstance(reply, str | bytes):
        try:
            reply = json.loads(reply)
        except ValueError:
            return SendResult(Outcome.RETRY, error=f"unreadable reply: {_line(reply)}")
    data = reply.get("SMSMessageData") if isinstance(reply, Mapping) else None
    recipients = data.get("Recipients") if isinstance(data, Mapping) else None
    if not isinstance(recipients, list) or not recipients:
        message = data.get("Message") if isinstance(data, Mapping) else reply
        return SendResult(Outcome.RETRY, error=f"no recipient in reply: {_line(message)}")
    ours = next(
        (r for r in recipients if isinstance(r, Mapping) and r.get("number") == phone),
        recipients[0],
    )
    try:
        code = int(ours.get("statusCode"))
    except (TypeError, ValueError):
        code = None
    status = str(ours.get("status") or "")[:32] or None
    message_id = ours.get("messageId")
    fields = {
        "message_id": str(message_id)[:100] if message_id and message_id != "None" else None,
        "cost": str(ours.get("cost"))[:32] if ours.get("cost") is not None else None,
        "status_code": code,
        "provider_status": status,
    }
    if code in ACCEPTED_CODES:
        return SendResult(Outcome.DONE, **fields)
    outcome = Outcome.FAILED if code in PERMANENT_CODES else Outcome.RETRY
    return SendResult(outcome, error=f"{code} {status or ''}".strip(), **fields)


def _line(value: Any) -> str:
    return " ".join(str(value).split())[:200]
