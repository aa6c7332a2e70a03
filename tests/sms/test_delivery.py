"""``POST /sms/delivery``: Africa's Talking's delivery reports update the message."""

from __future__ import annotations

import logging

from aiohttp.test_utils import TestClient

from tests.sms.conftest import AtApi, eventually, message
from tests.support.phone import Phone
from tests.test_journeys import give_feedback
from ussd_gateway.http.sms.keys import SMS_OUTBOX

URL = "/sms/delivery"


async def sent_receipt(client: TestClient) -> str:
    reference = await give_feedback(Phone(client))
    purpose = f"receipt:{reference}"
    sms = await eventually(lambda: _sent(client, purpose))
    return str(sms.message_id)


def report(message_id: str, status: str, **extra: str) -> dict[str, str]:
    return {
        "id": message_id,
        "status": status,
        "phoneNumber": "+255712345678",
        "networkCode": "64004",
        "retryCount": "0",
        **extra,
    }


async def test_report_updates_the_status_and_a_repeat_is_harmless(
    sms_client: TestClient, at_api: AtApi
):
    message_id = await sent_receipt(sms_client)
    for _ in range(2):  # Africa's Talking retries until it gets a 200
        response = await sms_client.post(URL, data=report(message_id, "Success"))
        assert (response.status, await response.text()) == (200, "OK")
    sms = await _by_id(sms_client, message_id)
    assert (sms.provider_status, sms.failure_reason, sms.network_code) == (
        "Success",
        None,
        "64004",
    )
    assert sms.reported_at is not None and sms.status == "sent"
    # a late, out-of-order "Buffered" does not overwrite the final word
    response = await sms_client.post(URL, data=report(message_id, "Buffered"))
    assert response.status == 200
    assert (await _by_id(sms_client, message_id)).provider_status == "Success"
    assert len(at_api.sent()) == 1


async def test_failure_reason_is_recorded(sms_client: TestClient):
    message_id = await sent_receipt(sms_client)
    data = report(message_id, "Failed", failureReason="AbsentSubscriber", retryCount="2")
    assert (await sms_client.post(URL, data=data)).status == 200
    sms = await _by_id(sms_client, message_id)
    assert (sms.provider_status, sms.failure_reason) == ("Failed", "AbsentSubscriber")


async def test_unknown_id_is_accepted_and_logged_masked(sms_client: TestClient, caplog):
    caplog.set_level(logging.INFO, logger="ussd_gateway.http.sms")
    response = await sms_client.post(URL, data=report("ATXid_nobody", "Success"))
    assert response.status == 200
    logged = [r.getMessage() for r in caplog.records if "unknown SMS" in r.getMessage()]
    assert logged == ["delivery report for unknown SMS ATXid_nobody to +2557*****678: Success"]


async def test_malformed_report_is_refused_and_nothing_is_stored(sms_client: TestClient):
    message_id = await sent_receipt(sms_client)
    for data, reason in (
        ({"status": "Success"}, "id is missing"),
        (report(message_id, "Delivered"), "status must be one of"),
        (report(message_id, ""), "status is missing"),
        (report(message_id, "Success", retryCount="many"), "retryCount must be a whole number"),
    ):
        response = await sms_client.post(URL, data=data)
        assert response.status == 400
        assert reason in await response.text()
    sms = await _by_id(sms_client, message_id)
    assert sms.provider_status == "Success" and sms.reported_at is None  # the send's own word


async def _sent(client: TestClient, purpose: str):
    sms = await message(client, purpose)
    return sms if sms is not None and sms.status == "sent" else None


async def _by_id(client: TestClient, message_id: str):
    from sqlalchemy import select

    from ussd_gateway.adapters.db.models import SmsMessage

    outbox = client.app[SMS_OUTBOX]
    async with outbox._sessionmaker() as session:
        found = await session.scalar(select(SmsMessage).where(SmsMessage.message_id == message_id))
    assert found is not None
    return found
