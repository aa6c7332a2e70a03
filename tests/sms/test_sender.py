"""The worker and the real SDK against a stand-in API that fails, refuses, or answers oddly."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.sms.conftest import API_KEY, AtApi, eventually, settle
from tests.support.databases import Database
from ussd_gateway.adapters.outbox.senders.sms import SmsSender
from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.adapters.outbox.worker import Worker
from ussd_gateway.config.backends import RetryPolicy
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.domain.outgoing import OutgoingSms
from ussd_gateway.http.at_standin import AtStandIn, Scripted, accepted

FAST = RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.1, jitter=0.0)


def config(url: str, **changes: Any) -> SmsConfig:
    values: dict[str, Any] = {
        "username": "gateway",
        "api_key": API_KEY,
        "base_url": url,
        "poll_interval": 0.05,
        "retry": FAST,
        "timeout": 2.0,
        **changes,
    }
    return SmsConfig(**values)


def sms(purpose: str = "receipt:ABCD2345", **changes: Any) -> OutgoingSms:
    values: dict[str, Any] = {
        "purpose": purpose,
        "phone": "+255712345678",
        "language": "sw",
        "text": "Habari",
        **changes,
    }
    return OutgoingSms(**values)


def sms_worker(config: SmsConfig, sessionmaker: Any, name: str | None = None) -> Worker:
    return Worker(SmsSender(config), sessionmaker, name=name)


async def run_until(worker: Worker, done: Callable[[], Awaitable[Any]]) -> None:
    task = asyncio.create_task(worker.run())
    try:
        await eventually(done)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


@pytest.fixture
def outbox(db: Database) -> SmsOutbox:
    return SmsOutbox(db.sessionmaker)


async def status_of(outbox: SmsOutbox, purpose: str = "receipt:ABCD2345") -> str | None:
    found = await outbox.find(purpose)
    return found.status if found else None


async def test_api_down_then_up_sends_exactly_once(db: Database, outbox: SmsOutbox, at_api: AtApi):
    at_api.stand_in.script = [
        Scripted(500, "Internal Server Error", "text/plain"),
        Scripted(503, "Service Unavailable", "text/plain"),
    ]
    await outbox.enqueue(sms())
    worker = sms_worker(config(at_api.url), db.sessionmaker)
    await run_until(worker, lambda: _is(outbox, "sent"))
    found = await outbox.find("receipt:ABCD2345")
    assert found is not None and found.attempts == 3 and found.message_id == "ATXid_standin_3"
    assert len(at_api.sent()) == 3  # two refused, one accepted: the citizen got one SMS
    assert at_api.sent()[-1] == {
        "username": "gateway",
        "to": "+255712345678",
        "message": "Habari",
        "bulkSMSMode": "1",
    }


async def test_connection_refused_then_up_sends_exactly_once(
    db: Database, outbox: SmsOutbox, aiohttp_server: Callable[..., Awaitable[TestServer]]
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await outbox.enqueue(sms())
    worker = sms_worker(config(f"http://127.0.0.1:{port}"), db.sessionmaker)
    task = asyncio.create_task(worker.run())
    try:
        await eventually(lambda: _attempts_at_least(outbox, 2))
        assert await status_of(outbox) == "pending"
        found = await outbox.find("receipt:ABCD2345")
        assert found is not None and "Connection" in (found.last_error or "")
        stand_in = AtStandIn()
        await aiohttp_server(stand_in.app(), port=port)  # the API comes back
        await eventually(lambda: _is(outbox, "sent"))
        await settle()
        assert len(stand_in.sent()) == 1
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def test_invalid_number_fails_for_good_without_retrying(
    db: Database, outbox: SmsOutbox, at_api: AtApi
):
    refused = accepted("+255712345678", "None")
    recipient = refused["SMSMessageData"]["Recipients"][0]
    recipient |= {"statusCode": 403, "status": "InvalidPhoneNumber", "cost": "0"}
    at_api.stand_in.script = [Scripted(201, refused)]
    await outbox.enqueue(sms(drop_phone=True))
    await run_until(sms_worker(config(at_api.url), db.sessionmaker), lambda: _is(outbox, "failed"))
    await settle()
    found = await outbox.find("receipt:ABCD2345")
    assert found is not None
    assert (found.status_code, found.last_error, found.message_id) == (
        403,
        "403 InvalidPhoneNumber",
        None,
    )
    assert found.phone is None  # an anonymous receipt's number goes even when it failed
    assert len(at_api.sent()) == 1


async def test_insufficient_balance_is_retried(db: Database, outbox: SmsOutbox, at_api: AtApi):
    broke = accepted("+255712345678", "None")
    broke["SMSMessageData"]["Recipients"][0] |= {"statusCode": 405, "status": "InsufficientBalance"}
    at_api.stand_in.script = [Scripted(201, broke)]
    await outbox.enqueue(sms())
    await run_until(sms_worker(config(at_api.url), db.sessionmaker), lambda: _is(outbox, "sent"))
    assert len(at_api.sent()) == 2


async def test_a_reply_that_is_not_labelled_json_is_parsed(
    db: Database, outbox: SmsOutbox, at_api: AtApi
):
    body = json.dumps(accepted("+255712345678", "ATXid_text_1"))
    at_api.stand_in.script = [Scripted(201, body, "text/plain")]
    await outbox.enqueue(sms())
    await run_until(sms_worker(config(at_api.url), db.sessionmaker), lambda: _is(outbox, "sent"))
    found = await outbox.find("receipt:ABCD2345")
    assert found is not None and found.message_id == "ATXid_text_1"


async def test_reply_to_a_premium_message_uses_its_link_id(
    db: Database, outbox: SmsOutbox, at_api: AtApi
):
    await outbox.enqueue(sms("reply:in-1", link_id="link-77", sender="15200"))
    await run_until(
        sms_worker(config(at_api.url, sender_id="eGA"), db.sessionmaker),
        lambda: _is(outbox, "sent", "reply:in-1"),
    )
    assert at_api.sent() == [
        {
            "username": "gateway",
            "to": "+255712345678",
            "from": "15200",
            "message": "Habari",
            "bulkSMSMode": "0",
            "linkId": "link-77",
        }
    ]
    assert at_api.stand_in.received[0].headers["apiKey"] == API_KEY


async def test_a_long_text_is_cut_to_the_cap(db: Database, outbox: SmsOutbox, at_api: AtApi):
    await outbox.enqueue(sms(text="neno " * 100))  # 500 characters: 4 parts
    await run_until(
        sms_worker(config(at_api.url, max_segments=2), db.sessionmaker), lambda: _is(outbox, "sent")
    )
    (sent,) = at_api.sent()
    assert sent["message"].endswith("neno...") and len(sent["message"]) <= 306
    found = await outbox.find("receipt:ABCD2345")
    assert found is not None and found.segments == 2


async def _is(outbox: SmsOutbox, status: str, purpose: str = "receipt:ABCD2345") -> bool:
    return await status_of(outbox, purpose) == status


async def _attempts_at_least(outbox: SmsOutbox, attempts: int) -> bool:
    found = await outbox.find("receipt:ABCD2345")
    return found is not None and found.attempts >= attempts and found.locked_by is None


async def test_a_number_without_its_plus_is_sent_in_international_form(
    db: Database, outbox: SmsOutbox, at_api: AtApi
):
    await outbox.enqueue(sms(phone="255712345678"))
    await run_until(sms_worker(config(at_api.url), db.sessionmaker), lambda: _is(outbox, "sent"))
    assert [m["to"] for m in at_api.sent()] == ["+255712345678"]
