"""Hubtel: JSON Initiation/Response/Release/Timeout, newest entry only, JSON replies."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.providers.drivers import Hubtel
from tests.providers.fuzzing import (
    BOTH_STORES,
    FUZZ,
    PARSER_FUZZ,
    TYPED,
    WEIRD_TEXT,
    bodies,
    json_bodies,
)
from tests.test_journeys import MESSAGE, reference_in
from ussd_gateway.domain.ussd import BadRequest, SessionEnd, UssdRequest
from ussd_gateway.http.keys import SESSIONS, SUBMISSIONS
from ussd_gateway.http.providers import hubtel

RESUME = "Hukumaliza ulichokuwa ukifanya."
KEYS = ["Type", "SessionId", "Mobile", "ServiceCode", "Message", "Operator", "Sequence"]


def recorded(kind: str, message: str, sequence: int, session: str = "8d440a43a98b4614") -> dict:
    """Shaped like the request in Hubtel's published sample interaction."""
    return {
        "Sequence": str(sequence),
        "Type": kind,
        "Message": message,
        "ServiceCode": "152*00",
        "Operator": "vodafone",
        "ClientState": "",
        "Mobile": "233246912184",
        "SessionId": session,
    }


async def post(client, body: Any) -> dict:
    response = await client.post("/ussd/hubtel", json=body)
    assert response.status == 200, await response.text()
    return await response.json()


@BOTH_STORES
async def test_recorded_journey_start_continue_end(client) -> None:
    first = await post(client, recorded("initiation", "*152*00#", 1))
    assert first["Type"] == "Response" and first["SessionId"] == "8d440a43a98b4614"
    assert first["Message"].startswith("Karibu e-Mrejesho\n1. Toa mrejesho")
    assert first["Label"] == "Karibu e-Mrejesho"
    replies = []
    for sequence, entry in enumerate(["1", "1", "2", MESSAGE, "2", "1"], start=2):
        replies.append(await post(client, recorded("response", entry, sequence)))
    assert [r["Type"] for r in replies] == ["Response"] * 5 + ["Release"]
    reference = reference_in(replies[-1]["Message"])
    assert await client.app[SUBMISSIONS].count(phone=None, anonymous=True) == 1
    assert (await client.app[SUBMISSIONS].get(reference)) is not None
    # a late Release after our last screen is acknowledged and changes nothing
    release = await post(client, recorded("Release", "", 8))
    assert release["Type"] == "Release"
    session = await client.app[SESSIONS].get("hubtel:8d440a43a98b4614")
    assert session is not None and session.end_reason == "release"


async def test_extended_code_in_the_initiation_message(client) -> None:
    phone = Hubtel(client)
    kind = await phone.dial("*152*00*1#")
    assert kind.text.startswith("Aina ya mrejesho\n1. Lalamiko")
    assert "Chagua taasisi" in (await phone.send("1")).text


async def test_repeated_initiation_and_retries_do_not_derail_the_session(client) -> None:
    phone = Hubtel(client)
    home = await phone.dial()
    first = phone.last
    assert await phone.retry() == home  # Initiation twice
    kind = await phone.send("1")
    assert await phone.retry() == kind  # same Sequence: a retry, not a second "1"
    assert await phone.post(*first) == kind  # a late copy of the Initiation: current screen
    institutions = await phone.send("1")  # the same entry again, a new Sequence: a new hop
    assert "Chagua taasisi" in institutions.text
    # a telco that sends the whole input again instead of only the newest entry
    phone.sequence += 1
    body = phone.body("Response", "1*1*2")
    assert (await phone.post("json", body)).text.startswith("TRA - Mapato\nAndika ujumbe")


@BOTH_STORES
async def test_timeout_keeps_the_journey_resumable(client) -> None:
    phone = Hubtel(client)
    await phone.dial()
    institutions = await phone.walk("1", "1")
    ack = json.loads(await phone.end(dropped=True))
    assert ack["Type"] == "Release" and ack["SessionId"] == phone.session_id
    session = await client.app[SESSIONS].get(f"hubtel:{phone.session_id}")
    assert session is not None and session.end_reason == "timeout"
    # a hop arriving on the closed session ends it, without moving on
    late = await phone.send("2")
    assert late.end and late.text == institutions.text
    offer = await phone.dial()
    assert offer.text.startswith(RESUME)
    assert await phone.send("1") == institutions


@BOTH_STORES
async def test_release_by_the_citizen_is_not_resumable(client) -> None:
    phone = Hubtel(client)
    await phone.dial()
    await phone.walk("1", "1")
    await phone.end(dropped=False)
    session = await client.app[SESSIONS].get(f"hubtel:{phone.session_id}")
    assert session is not None and session.end_reason == "release"
    assert (await phone.dial()).text.startswith("Karibu e-Mrejesho")


async def test_end_notice_for_an_unknown_session_is_acknowledged(client) -> None:
    reply = await post(client, recorded("Timeout", "", 3, session="never-seen"))
    assert reply["Type"] == "Release"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", "body is not a JSON object"),
        (b'{"Type": "Initiation"}', "missing or empty sessionid"),
        (b'{"Type": "Dance", "SessionId": "x"}', "Type must be"),
        (b'{"Type": "Response", "SessionId": "x", "Mobile": "abc"}', "Mobile is not a phone"),
        (b'{"Type": "Response", "SessionId": "x", "Mobile": "233246912184", "Message": {}}', ""),
        (b"\xff\xfe", "body is not valid UTF-8"),
    ],
)
async def test_malformed_requests_get_a_400_with_a_reason(client, body: bytes, reason: str) -> None:
    response = await client.post(
        "/ussd/hubtel", data=body, headers={"Content-Type": "application/json"}
    )
    text = await response.text()
    assert response.status == 400
    assert text.startswith("bad request: ") and text.count("\n") == 1
    assert reason.lower() in text.lower()
    assert await client.app[SUBMISSIONS].count() == 0


@PARSER_FUZZ
@given(json_bodies(KEYS, {"Type": st.sampled_from(["Initiation", "response", "Timeout"])}))
def test_parser_accepts_or_refuses_cleanly(data: Any) -> None:
    if not isinstance(data, dict):
        return
    try:
        parsed = hubtel.parse(data)
    except BadRequest as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(parsed, UssdRequest | SessionEnd)


@FUZZ
@given(
    bodies(
        json_bodies(
            KEYS,
            {
                "Type": st.sampled_from(["Initiation", "Response", "Release", "Timeout"]),
                "SessionId": st.sampled_from(["s1", "s2"]),
                "Mobile": st.sampled_from(["233246912184", "+255712345678"]),
                "Message": WEIRD_TEXT,
            },
        ),
        KEYS,
    ),
    st.sampled_from(["application/json", "", "text/plain", "application/x-www-form-urlencoded"]),
)
def test_webhook_never_answers_5xx(live, body: bytes, content_type: str) -> None:
    status, _, answer = live.post("/ussd/hubtel", body, content_type)
    event(f"HTTP {status}")
    assert status < 500, answer
    if status == 200:
        data = json.loads(answer)
        assert data["Type"] in ("Response", "Release")


@FUZZ
@given(st.sampled_from(["*152*00#", "*152*00*1#", "*152*00*9*9#"]), TYPED)
def test_any_typed_session_gets_a_screen_on_every_hop(live, code: str, typed: list[str]) -> None:
    session = uuid.uuid4().hex
    ended = False
    for sequence, (kind, message) in enumerate(
        [("Initiation", code)] + [("Response", t) for t in typed]
    ):
        body = recorded(kind, message, sequence + 1, session=session)
        status, _, answer = live.post("/ussd/hubtel", json.dumps(body).encode(), "application/json")
        assert status == 200, answer
        reply = json.loads(answer)
        assert reply["Message"].strip() and reply["SessionId"] == session
        assert not ended or reply["Type"] == "Release", "a session came back to life"
        ended = reply["Type"] == "Release"
