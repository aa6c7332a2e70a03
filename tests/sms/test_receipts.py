"""A USSD submission produces exactly one SMS receipt, sent through the real SDK."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.sms.conftest import API_KEY, AtApi, eventually, message, settle
from tests.support.phone import Phone
from tests.test_journeys import give_feedback
from ussd_gateway.http.keys import SUBMISSIONS


async def test_receipt_after_a_ussd_submission_is_sent_once(sms_client: TestClient, at_api: AtApi):
    phone = Phone(sms_client)
    reference = await give_feedback(phone)
    # the hop that submitted is retried by the aggregator: still one receipt
    assert reference in await phone.post()
    await eventually(at_api.sent)
    await settle()
    assert at_api.sent() == [
        {
            "username": "sandbox",
            "to": "+255712345678",
            "message": "e-Mrejesho: mrejesho wako kwa TRA - Mapato umepokelewa. "
            f"Namba ya kumbukumbu: {reference}. Fuatilia: *152*00# au tuma HALI {reference} "
            "kwa 15200",
            "bulkSMSMode": "1",
            "from": "eGA",
        }
    ]
    assert at_api.stand_in.received[0].headers["apiKey"] == API_KEY
    sms = await eventually(lambda: _sent(sms_client, f"receipt:{reference}"))
    assert (sms.message_id, sms.cost, sms.status_code, sms.provider_status) == (
        "ATXid_standin_1",
        "TZS 20.0000",
        101,
        "Success",
    )
    assert sms.phone == "+255712345678" and sms.segments == 1 and sms.reference == reference


async def test_receipt_in_the_citizens_language(sms_client: TestClient, at_api: AtApi):
    phone = Phone(sms_client)
    await phone.dial()
    await phone.walk("3", "2")  # Language -> English
    await phone.walk("1", "1", "2", "The water has been off for a week", "1", "Amina Juma")
    final = await phone.send("1")
    reference = final.split("Reference number: ")[1].split("\n")[0]
    (sent,) = await eventually(at_api.sent)
    assert sent["message"] == (
        "e-Mrejesho: your feedback to TRA - Revenue was received. "
        f"Reference number: {reference}. Track: *152*00# or send STATUS {reference} to 15200"
    )


async def test_anonymous_citizen_gets_no_receipt_without_consent(
    sms_client: TestClient, at_api: AtApi
):
    reference = await give_feedback(Phone(sms_client), anonymous=True)
    await settle(0.5)
    assert at_api.sent() == [] and await message(sms_client, f"receipt:{reference}") is None


async def test_anonymous_receipt_with_consent_then_the_number_is_dropped(
    sms_client: TestClient, at_api: AtApi
):
    phone = Phone(sms_client)
    await phone.dial()
    await phone.walk("1", "1", "2", "Maji hayatoki wiki nzima sasa", "3")
    final = await phone.send("1")
    reference = final.split("kumbukumbu: ")[1].split("\n")[0]
    (sent,) = await eventually(at_api.sent)
    assert sent["to"] == "+255712345678" and reference in sent["message"]
    sms = await eventually(lambda: _sent(sms_client, f"receipt:{reference}"))
    assert sms.phone is None and sms.drop_phone and sms.message_id == "ATXid_standin_1"
    # the submission itself never held the number
    assert await sms_client.app[SUBMISSIONS].count(phone=None, anonymous=True) == 1
    assert await sms_client.app[SUBMISSIONS].count(phone="+255712345678") == 0


async def _sent(client: TestClient, purpose: str):
    sms = await message(client, purpose)
    return sms if sms is not None and sms.status == "sent" else None
