"""Whole citizen journeys through the real webhook, real session store and real database."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from tests.support.clock import FakeClock, later
from tests.support.phone import Phone
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.domain.references import is_valid
from ussd_gateway.http.keys import SESSIONS, SUBMISSIONS

REFERENCE = re.compile(r"(?:kumbukumbu|Reference number): ([2-9A-Z]{8})")
MESSAGE = "Nimelipa kodi *mara mbili* lakini risiti haikuja #TRA"


def reference_in(screen: str) -> str:
    match = REFERENCE.search(screen)
    assert match, f"no reference on screen: {screen!r}"
    assert is_valid(match.group(1))
    return match.group(1)


async def give_feedback(phone: Phone, message: str = MESSAGE, *, anonymous: bool = False) -> str:
    """Home -> complaint -> TRA (2nd on page 1) -> message -> identify -> confirm -> send."""
    await phone.dial()
    assert "Andika ujumbe wako" in await phone.walk("1", "1", "2")
    assert "Ungependa kujitambulisha?" in await phone.send(message)
    if anonymous:
        await phone.send("2")
    else:
        await phone.send("1")
        await phone.send("Amina Juma")
    final = await phone.send("1")
    assert final.startswith("END ")
    return reference_in(final)


async def test_whole_journey_submits_and_tracks(
    gateway, database_url: str, store_url: str | None
) -> None:
    client: TestClient = await gateway(database_url=database_url)
    phone = Phone(client)

    home = await phone.dial()
    assert home == (
        "CON Karibu e-Mrejesho\n1. Toa mrejesho\n2. Fuatilia mrejesho\n3. Lugha / Language"
    )
    kind = await phone.send("1")
    assert "Aina ya mrejesho\n1. Lalamiko" in kind
    institutions = await phone.send("1")
    assert "Chagua taasisi" in institutions and "2. TRA - Mapato" in institutions
    body = await phone.send("2")
    assert body.startswith("CON TRA - Mapato\nAndika ujumbe wako")
    identify = await phone.send(MESSAGE)
    assert "Ungependa kujitambulisha?" in identify
    await phone.send("1")
    confirm = await phone.send("Amina Juma")
    assert confirm.startswith('CON Tuma kwa TRA - Mapato:\n"Nimelipa kodi *mara mbili*')
    final = await phone.send("1")
    reference = reference_in(final)
    for screen in phone.screens:
        assert len(screen) - 4 <= 182, screen

    # committed before the reply: visible through a brand-new connection
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    select(Submission).where(Submission.reference == reference)
                )
            ).one()
    finally:
        await engine.dispose()
    assert row.status == "pending"
    assert row.service == "mrejesho" and row.backend == "feedback" and row.kind == "complaint"
    assert row.phone == "+255712345678" and not row.anonymous
    assert row.data["body"] == MESSAGE  # the '*' inside the message arrived whole
    assert row.data["institution"] == "tra" and row.data["name"] == "Amina Juma"

    # dial again and track it
    await phone.dial()
    assert "namba ya kumbukumbu" in await phone.send("2")
    status = await phone.send(reference.lower())
    assert status.startswith(f"END Kumbukumbu {reference}")
    assert "Imepokelewa" in status


async def test_anonymous_feedback_stores_no_number(client: TestClient, phone: Phone) -> None:
    reference = await give_feedback(phone, anonymous=True)
    view = await client.app[SUBMISSIONS].get(reference)
    assert view is not None
    assert await client.app[SUBMISSIONS].count(phone=None, anonymous=True) == 1
    assert await client.app[SUBMISSIONS].count(phone="+255712345678") == 0
    assert "(bila jina)" in phone.screens[-2]


async def test_every_hop_sent_twice_gets_same_reply_and_one_submission(
    client: TestClient, phone: Phone
) -> None:
    first = await phone.dial()
    assert await phone.post() == first
    for entry in ["1", "1", "2", MESSAGE, "2", "1"]:
        reply = await phone.send(entry)
        assert await phone.post() == reply, f"retry of {entry!r} changed the screen"
    reference = reference_in(reply)
    assert await client.app[SUBMISSIONS].count() == 1
    assert (await client.app[SUBMISSIONS].get(reference)) is not None


async def test_identical_hops_arriving_together_advance_once(
    client: TestClient, phone: Phone
) -> None:
    await phone.dial()
    await phone.walk("1", "1", "2", MESSAGE, "2")
    phone.entries.append("1")
    replies = await asyncio.gather(*(phone.post() for _ in range(8)))
    assert len(set(replies)) == 1, replies
    reference_in(replies[0])
    assert await client.app[SUBMISSIONS].count() == 1

    # the same at the very first hop of a session
    other = Phone(client, number="+255754000111")
    other.session_id = "ATUid_concurrent_first"
    firsts = await asyncio.gather(*(other.post("") for _ in range(8)))
    assert len(set(firsts)) == 1 and firsts[0].startswith("CON Karibu")


async def test_wrong_entries_show_the_screen_again_with_a_hint(phone: Phone) -> None:
    home = await phone.dial()
    again = await phone.send("7")
    assert again == "CON Chaguo si sahihi. Chagua 1-3.\n" + home[4:]
    assert (await phone.send("")).startswith("CON Chaguo si sahihi. Chagua 1-3.\nKaribu")
    assert (await phone.send("abc")).startswith("CON Chaguo si sahihi.")
    await phone.walk("1", "1", "2")
    short = await phone.send("mbaya")
    assert short.startswith("CON Andika angalau herufi 10.\nTRA - Mapato")
    await phone.send(MESSAGE)
    await phone.send("1")
    name = await phone.send("12345")
    assert name.startswith("CON Andika jina (herufi 2-40).\nAndika jina lako")
    confirm = await phone.send("Amina")
    assert confirm.startswith("CON Tuma kwa TRA")


async def test_back_and_home(phone: Phone) -> None:
    home = await phone.dial()
    kind = await phone.send("1")
    assert (await phone.send("0")) == home
    assert (await phone.send("1")) == kind
    await phone.send("1")
    body = await phone.send("3")
    assert "NIDA" in body
    assert (await phone.send("0")).startswith("CON Chagua taasisi")
    assert (await phone.send("0")) == kind
    await phone.walk("1", "1")
    assert (await phone.send("00")) == home
    # back on the first screen is just a wrong choice
    assert (await phone.send("0")).startswith("CON Chaguo si sahihi.")


async def test_long_list_is_paginated_and_every_page_fits(phone: Phone) -> None:
    await phone.dial()
    first = await phone.walk("1", "1")
    pages = [first]
    while "98.Zaidi" in pages[-1]:
        pages.append(await phone.send("98"))
    assert len(pages) >= 4
    for page in pages:
        assert len(page) - 4 <= 182
        assert "\n1. " in page  # numbering restarts on every page
    assert "98.Zaidi" not in pages[-1]
    assert (await phone.send("98")).startswith("CON Hakuna zaidi.")
    # 0 goes back a page, then picks from that page
    previous = await phone.send("0")
    assert previous == pages[-2]
    line = next(line for line in previous.splitlines() if line.startswith("1. "))
    chosen = await phone.send("1")
    assert chosen.startswith(f"CON {line[3:]}\n")

    shown = {
        line.split(". ", 1)[1]
        for page in pages
        for line in page.splitlines()
        if re.match(r"^\d\. ", line)
    }
    import yaml

    from tests.conftest import ROOT

    catalogue = yaml.safe_load((ROOT / "config/institutions.yaml").read_text())
    assert shown == {item["label"]["sw"] for item in catalogue["items"]}


async def test_language_switch_is_remembered_for_the_number(
    client: TestClient, phone: Phone
) -> None:
    await phone.dial()
    assert "Chagua lugha" in await phone.send("3")
    english = await phone.send("2")
    assert english.startswith("CON Welcome to e-Mrejesho\n1. Give feedback")
    assert "Type of feedback" in await phone.send("1")
    assert (await phone.send("9")).startswith("CON Invalid choice. Pick 1-5.\nType of feedback")

    # half-way into a journey: the offer to continue comes in the remembered language
    assert (await phone.dial()).startswith("CON You did not finish e-Mrejesho.")
    assert (await phone.send("2")).startswith("CON Welcome to e-Mrejesho")
    assert (await phone.dial()).startswith("CON Welcome to e-Mrejesho")
    stranger = Phone(client, number="+255754999888")
    assert (await stranger.dial()).startswith("CON Karibu e-Mrejesho")

    await phone.walk("3", "1")
    assert (await phone.dial()).startswith("CON Karibu e-Mrejesho")


async def test_session_expires_after_its_ttl(gateway, store_url) -> None:
    clock = FakeClock()
    client = await gateway(ttl=0.4, resume_window=0.4, clock=clock)
    phone = Phone(client)
    await phone.dial()
    await phone.send("1")
    key = f"africastalking:{phone.session_id}"
    store = client.app[SESSIONS]
    assert await store.get(key) is not None
    await later(clock, 0.8, redis=store_url is not None)
    assert await store.get(key) is None
    # the old session is gone: a new dial starts afresh, with nothing to resume either
    assert (await phone.dial()).startswith("CON Karibu e-Mrejesho")


async def test_dropped_journey_can_be_resumed(client: TestClient, phone: Phone) -> None:
    await phone.dial()
    await phone.walk("1", "1", "2")
    identify = await phone.send(MESSAGE)
    # the call drops here; the citizen dials again
    offer = await phone.dial()
    assert offer == "CON Hukumaliza e-Mrejesho.\n1. Endelea ulipoishia\n2. Anza upya"
    assert (await phone.send("5")).startswith("CON Chaguo si sahihi.\nHukumaliza")
    resumed = await phone.send("1")
    assert resumed == identify
    await phone.send("2")
    final = await phone.send("1")
    reference = reference_in(final)
    view = await client.app[SUBMISSIONS].get(reference)
    assert view is not None
    # back goes to where the first call had been
    assert (await phone.dial()).startswith("CON Karibu")  # completed: nothing to resume


async def test_restart_instead_of_resume(client: TestClient, phone: Phone) -> None:
    await phone.dial()
    await phone.walk("1", "1")
    assert "Hukumaliza" in await phone.dial()
    assert (await phone.send("2")).startswith("CON Karibu e-Mrejesho")
    assert (await phone.dial()).startswith("CON Karibu e-Mrejesho")


async def test_resume_not_offered_after_the_window_or_to_others(gateway, store_url) -> None:
    clock = FakeClock()
    client = await gateway(resume_window=0.5, clock=clock)
    phone = Phone(client)
    await phone.dial()
    await phone.walk("1", "1")
    other = Phone(client, number="+255754111222")
    assert (await other.dial()).startswith("CON Karibu")
    await later(clock, 0.9, redis=store_url is not None)
    assert (await phone.dial()).startswith("CON Karibu")


async def test_extended_code_walks_the_menu_as_typed(phone: Phone) -> None:
    assert (await phone.dial("*152*00*1#")).startswith("CON Aina ya mrejesho")
    assert (await phone.send("1")).startswith("CON Chagua taasisi")
    assert (await phone.post()).startswith("CON Chagua taasisi")  # retry is still a replay
    # text already filled on the first hop, as some telcos send it
    phone.code = "*152*00#"
    phone.session_id = "ATUid_prefilled"
    assert (await phone.post("1*1")).startswith("CON Chagua taasisi")


async def test_unknown_service_code_ends_politely(phone: Phone) -> None:
    reply = await phone.dial("*150*99#")
    assert reply.startswith("END Samahani, huduma hii haipo.")
    assert "this service does not exist" in reply


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"serviceCode": "*152*00#", "phoneNumber": "+255712345678", "text": ""}, "sessionId"),
        (
            {"sessionId": " ", "serviceCode": "*152*00#", "phoneNumber": "+255712345678"},
            "sessionId",
        ),
        ({"sessionId": "s1", "serviceCode": "*152*00#", "phoneNumber": ""}, "phoneNumber"),
        ({"sessionId": "s1", "phoneNumber": "+255712345678"}, "serviceCode"),
        ({"sessionId": "s1", "serviceCode": "*152*00#", "phoneNumber": "call me"}, "phone"),
    ],
)
async def test_malformed_requests_get_400_with_a_reason(
    client: TestClient, form: dict[str, str], reason: str
) -> None:
    response = await client.post("/ussd/africastalking", data=form)
    assert response.status == 400
    body = await response.text()
    assert body.startswith("bad request:") and reason in body
    assert body.count("\n") == 1


async def test_oversized_undecodable_or_json_bodies_get_400(client: TestClient) -> None:
    base = "sessionId=s1&serviceCode=%2A152%2A00%23&phoneNumber=%2B255712345678&text="
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    big = await client.post("/ussd/africastalking", data=base + "a" * 9000, headers=headers)
    assert big.status == 400 and "larger than 8192" in await big.text()
    bad = await client.post("/ussd/africastalking", data=base + "%FF%FE", headers=headers)
    assert bad.status == 400 and "UTF-8" in await bad.text()
    raw = await client.post("/ussd/africastalking", data=base.encode() + b"\xff", headers=headers)
    assert raw.status == 400
    json = await client.post("/ussd/africastalking", json={"sessionId": "s1"})
    assert json.status == 400 and "form-encoded" in await json.text()
    assert await client.app[SUBMISSIONS].count() == 0


async def test_health_and_readiness(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    body = await ready.json()
    assert body["ready"] is True and set(body["checks"]) == {"sessions", "database", "menus"}
