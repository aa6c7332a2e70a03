"""A backend's status change sends the citizen a short update, unless they opted out."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient

from tests.sms.conftest import AtApi, eventually, message, settle
from tests.support.phone import Phone
from tests.test_journeys import give_feedback

NUMBER = "+255712345678"


async def status(client: TestClient, reference: str, value: str, note: object = None) -> None:
    body = {"reference": reference, "status": value, "note": note}
    response = await client.post(
        "/backends/feedback/status",
        data=json.dumps(body),
        headers={"Authorization": "Bearer backend-token"},
    )
    assert response.status == 200, await response.text()


async def sms_from_citizen(client: TestClient, text: str, id: str) -> None:
    data = {"from": NUMBER, "to": "15200", "text": text, "id": id, "date": "2026-12-01"}
    assert (await client.post("/sms/inbound", data=data)).status == 200


async def messages_to_citizen(at_api: AtApi) -> list[str]:
    return [m["message"] for m in at_api.sent() if m["to"] == NUMBER]


async def test_status_change_sends_one_update_in_the_citizens_language(
    sms_client: TestClient, at_api: AtApi
):
    reference = await give_feedback(Phone(sms_client))
    await eventually(at_api.sent)  # the receipt
    note = {"sw": "Bomba limerekebishwa", "en": "The pipe was repaired"}
    for _ in range(2):  # a backend repeating itself: one SMS
        await status(sms_client, reference, "resolved", note)
    await eventually(lambda: len(at_api.sent()) >= 2)
    await settle()
    assert at_api.sent()[1:] == [
        {
            "username": "sandbox",
            "to": NUMBER,
            "message": f"e-Mrejesho {reference}: Imepatiwa ufumbuzi. Bomba limerekebishwa. "
            "Tuma ACHA kusitisha taarifa.",
            "bulkSMSMode": "1",
            "from": "eGA",
        }
    ]


async def test_opted_out_citizen_gets_no_updates_until_opting_back_in(
    sms_client: TestClient, at_api: AtApi
):
    reference = await give_feedback(Phone(sms_client))
    await sms_from_citizen(sms_client, "ACHA", "in-stop")
    await eventually(lambda: len(at_api.sent()) >= 2)  # the receipt and the confirmation
    # sent concurrently: in either order
    assert any(m.startswith("Hutapokea taarifa") for m in await messages_to_citizen(at_api))
    await status(sms_client, reference, "in_progress")
    await settle(0.5)
    assert len(at_api.sent()) == 2
    assert await message(sms_client, f"status:{reference}:in_progress") is None

    await sms_from_citizen(sms_client, "anza", "in-start")
    await eventually(lambda: len(at_api.sent()) >= 3)
    await status(sms_client, reference, "resolved")
    await eventually(lambda: len(at_api.sent()) >= 4)
    assert (await messages_to_citizen(at_api))[3] == (
        f"e-Mrejesho {reference}: Imepatiwa ufumbuzi. Tuma ACHA kusitisha taarifa."
    )


async def test_anonymous_submission_gets_no_status_update(sms_client: TestClient, at_api: AtApi):
    reference = await give_feedback(Phone(sms_client), anonymous=True)
    await status(sms_client, reference, "resolved")
    await settle(0.5)
    assert at_api.sent() == []


async def test_a_reopened_case_is_told_again_when_it_closes_again(
    sms_client: TestClient, at_api: AtApi
):
    reference = await give_feedback(Phone(sms_client))
    await eventually(at_api.sent)  # the receipt
    for step in ("resolved", "reopened", "resolved"):
        await status(sms_client, reference, step)
    await eventually(lambda: len(at_api.sent()) >= 4)
    await settle()
    assert sorted(m["message"] for m in at_api.sent()[1:]) == [  # sent concurrently
        f"e-Mrejesho {reference}: {label}. Tuma ACHA kusitisha taarifa."
        for label in ("Imefunguliwa upya", "Imepatiwa ufumbuzi", "Imepatiwa ufumbuzi")
    ]
    assert await message(sms_client, f"status:{reference}:resolved:1") is not None
