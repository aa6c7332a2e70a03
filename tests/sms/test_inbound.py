"""``POST /sms/inbound``: keywords in either language, replies through the outbox and the SDK."""

from __future__ import annotations

import json
import re

from aiohttp.test_utils import TestClient

from tests.forwarding.conftest import StandIn
from tests.sms.conftest import AtApi, eventually, message, settle
from ussd_gateway.http.keys import SUBMISSIONS

URL = "/sms/inbound"
CITIZEN = "+255754000111"


def inbound(text: str, id: str = "in-1", **extra: str) -> dict[str, str]:
    return {
        "from": CITIZEN,
        "to": "15200",
        "text": text,
        "date": "2026-12-01 10:00:00",
        "id": id,
        **extra,
    }


async def post(client: TestClient, text: str, id: str = "in-1", **extra: str) -> None:
    response = await client.post(URL, data=inbound(text, id, **extra))
    assert (response.status, await response.text()) == (200, "OK")


async def reply_to(at_api: AtApi, count: int = 1) -> str:
    await eventually(lambda: len(at_api.sent()) >= count)
    return at_api.sent()[count - 1]["message"]


async def test_feedback_in_swahili_becomes_a_submission_delivered_to_the_backend(
    sms_client: TestClient, at_api: AtApi, stand_in: StandIn
):
    await post(sms_client, "mrejesho  Maji hayatoki Kimara wiki nzima")
    reply = await reply_to(at_api)
    receipt = re.fullmatch(
        r"e-Mrejesho: ujumbe wako umepokelewa\. Namba ya kumbukumbu: (\w{8})\. "
        r"Fuatilia: (\S+) au tuma HALI \1 kwa 15200",
        reply,
    )
    assert receipt is not None, reply
    reference = receipt[1]
    assert at_api.sent()[0]["to"] == CITIZEN and at_api.sent()[0]["from"] == "eGA"
    view = await sms_client.app[SUBMISSIONS].get(reference)
    assert view is not None and view.service == "mrejesho"
    assert await sms_client.app[SUBMISSIONS].count(channel="sms", phone=CITIZEN) == 1
    await eventually(lambda: stand_in.received)  # forwarded like any submission
    delivered = json.loads(stand_in.received[0].body)
    assert delivered["reference"] == reference
    assert "Maji hayatoki Kimara wiki nzima" in json.dumps(delivered)


async def test_feedback_in_english_replies_in_english(sms_client: TestClient, at_api: AtApi):
    await post(sms_client, "FEEDBACK No water in Kimara for a week")
    assert (await reply_to(at_api)).startswith(
        "e-Mrejesho: your message was received. Reference number: "
    )


async def test_a_retried_callback_submits_once_and_replies_once(
    sms_client: TestClient, at_api: AtApi
):
    for _ in range(3):
        await post(sms_client, "MREJESHO Barabara imeharibika", id="in-retried")
    await reply_to(at_api)
    await settle()
    assert len(at_api.sent()) == 1
    assert await sms_client.app[SUBMISSIONS].count(channel="sms") == 1


async def test_status_by_sms_in_either_language(sms_client: TestClient, at_api: AtApi):
    await post(sms_client, "MREJESHO Umeme umekatika siku tatu", id="in-1")
    reference = re.findall(r"kumbukumbu: (\w{8})\.", await reply_to(at_api))[0]
    store = sms_client.app[SUBMISSIONS]
    view = await eventually(lambda: _delivered(store, reference))  # the worker forwarded it
    date = view.created_at.strftime("%d/%m/%Y")
    await post(sms_client, f"HALI {reference.lower()}", id="in-2")
    assert (
        await reply_to(at_api, 2)
        == f"Namba ya kumbukumbu {reference} ({date}): Imefikishwa kwa taasisi"
    )
    await post(sms_client, f"status {reference}", id="in-3")
    assert await reply_to(at_api, 3) == (
        f"Reference number {reference} ({date}): Delivered to the institution"
    )
    await post(sms_client, "HALI ZZZZ2222", id="in-4")
    assert await reply_to(at_api, 4) == "Hakuna mrejesho wenye namba ya kumbukumbu ZZZZ2222."
    await post(sms_client, "HALI", id="in-5")  # no reference: how to ask
    assert (await reply_to(at_api, 5)).startswith(
        "Tuma kwa 15200: MREJESHO na ujumbe wako; KIKAO (Usajili wa Kikao Kazi cha Serikali "
        "Mtandao); HALI na namba ya kumbukumbu"
    )


async def test_unknown_keyword_gets_help_in_the_guessed_language(
    sms_client: TestClient, at_api: AtApi
):
    await post(sms_client, "Habari yenu", id="in-1")
    assert (await reply_to(at_api)).startswith("Tuma kwa 15200: MREJESHO na ujumbe wako; ")
    await post(sms_client, "STATS ABCD2345", id="in-2")  # a misspelt STATUS: English help
    assert (await reply_to(at_api, 2)).startswith(
        "Send to 15200: FEEDBACK and your message; MEETING ("
    )
    await post(sms_client, "", id="in-3")
    assert (await reply_to(at_api, 3)).startswith("Tuma kwa 15200: MREJESHO")


async def test_reply_to_a_premium_message_goes_out_with_its_link_id(
    sms_client: TestClient, at_api: AtApi
):
    await post(sms_client, "MSAADA", id="in-1", linkId="link-42")
    await reply_to(at_api)
    sent = at_api.sent()[0]
    assert (sent["linkId"], sent["from"], sent["bulkSMSMode"], sent["to"]) == (
        "link-42",
        "15200",
        "0",
        CITIZEN,
    )


async def test_malformed_inbound_is_refused_and_nothing_is_stored(
    sms_client: TestClient, at_api: AtApi
):
    for data, reason in (
        ({"from": CITIZEN, "text": "HALI X"}, "id is missing"),
        ({"id": "in-9", "text": "MREJESHO Maji hayatoki"}, "from is missing"),
        ({"id": "in-9", "from": "not-a-number", "text": "ACHA"}, "from is not a phone number"),
        ({"id": "x" * 101, "from": CITIZEN, "text": "ACHA"}, "id is longer than 100"),
    ):
        response = await sms_client.post(URL, data=data)
        assert response.status == 400, data
        assert reason in await response.text()
    await settle()
    assert at_api.sent() == [] and await message(sms_client, "reply:in-9") is None
    assert await sms_client.app[SUBMISSIONS].count() == 0


async def _delivered(store, reference: str):  # type: ignore[no-untyped-def]
    view = await store.get(reference)
    return view if view is not None and view.status == "delivered" else None
