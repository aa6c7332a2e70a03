"""Our own JSON format: cumulative or latest-entry text, start/continue/end events."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.providers.drivers import Generic
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
from ussd_gateway.http.providers import generic

RESUME = "Hukumaliza ulichokuwa ukifanya."
KEYS = ["session_id", "phone", "service_code", "text", "mode", "event", "network", "sequence"]


def recorded(event: str, text: str, *, mode: str = "cumulative", session: str = "tz-1") -> dict:
    """As documented in docs/providers.md."""
    return {
        "session_id": session,
        "phone": "+255754000111",
        "service_code": "*152*00#",
        "text": text,
        "mode": mode,
        "event": event,
        "network": "64005",
    }


async def post(client, body: Any) -> dict:
    response = await client.post("/ussd/generic", json=body)
    assert response.status == 200, await response.text()
    return await response.json()


@BOTH_STORES
async def test_recorded_journey_start_continue_end(client) -> None:
    first = await post(client, recorded("start", ""))
    assert first == {
        "session_id": "tz-1",
        "action": "continue",
        "text": "Karibu e-Mrejesho\n1. Toa mrejesho\n2. Fuatilia mrejesho\n3. Lugha / Language",
    }
    typed: list[str] = []
    replies = []
    for entry in ["1", "1", "2", MESSAGE, "2", "1"]:
        typed.append(entry)
        replies.append(await post(client, recorded("continue", "*".join(typed))))
    assert [r["action"] for r in replies] == ["continue"] * 5 + ["end"]
    reference = reference_in(replies[-1]["text"])
    assert (await client.app[SUBMISSIONS].get(reference)) is not None
    end = await post(client, dict(recorded("end", ""), reason="completed"))
    assert end == {"session_id": "tz-1", "action": "end", "text": ""}
    session = await client.app[SESSIONS].get("generic:tz-1")
    assert session is not None and session.end_reason == "completed"


@pytest.mark.parametrize("mode", ["cumulative", "latest"])
async def test_retries_and_repeated_starts_do_not_derail_the_session(client, mode: str) -> None:
    phone = Generic(client, mode=mode)
    home = await phone.dial()
    start = phone.last
    assert await phone.retry() == home
    kind = await phone.send("1")
    assert await phone.retry() == kind
    assert await phone.post(*start) == kind
    assert "Chagua taasisi" in (await phone.send("1")).text


async def test_latest_mode_without_sequence_and_whole_input_sent_again(client) -> None:
    await post(client, recorded("start", "", mode="latest", session="w"))
    kind = await post(client, recorded("continue", "1", mode="latest", session="w"))
    assert kind["text"].startswith("Aina ya mrejesho")
    # the telco sends the whole input instead of the newest entry: still one step
    listing = await post(client, recorded("continue", "1*1", mode="latest", session="w"))
    assert "Chagua taasisi" in listing["text"]
    assert await post(client, recorded("continue", "1*1", mode="latest", session="w")) == listing


async def test_extended_code(client) -> None:
    body = dict(recorded("start", "", session="x"), service_code="*152*00*1#")
    assert (await post(client, body))["text"].startswith("Aina ya mrejesho")


@BOTH_STORES
@pytest.mark.parametrize(("dropped", "resumed"), [(True, True), (False, False)])
async def test_end_event_closes_and_records_why(client, dropped: bool, resumed: bool) -> None:
    phone = Generic(client)
    await phone.dial()
    institutions = await phone.walk("1", "1")
    await phone.end(dropped=dropped)
    session = await client.app[SESSIONS].get(f"generic:{phone.session_id}")
    assert session is not None
    assert session.end_reason == ("timeout" if dropped else "cancelled")
    late = await phone.send("2")
    assert late.end, "a closed session went on"
    again = await phone.dial()
    assert again.text.startswith(RESUME) is resumed
    if resumed:
        assert await phone.send("1") == institutions


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"session_id": "s", "phone": "+255754000111"}, "missing or empty service_code"),
        ({"session_id": "s", "service_code": "*152*00#"}, "missing or empty phone"),
        (dict(recorded("start", ""), mode="sideways"), "mode must be"),
        (dict(recorded("start", ""), event="pause"), "event must be"),
        (dict(recorded("end", ""), reason="bored"), "reason must be"),
        (dict(recorded("start", ""), text="x" * 5000), "text longer than 4000"),
        (dict(recorded("start", ""), phone="+255-754-000"), "phone is not a phone number"),
        (dict(recorded("start", ""), session_id={"a": 1}), "session_id must be a string"),
        (dict(recorded("start", ""), text="a\x00b"), "text contains control characters"),
    ],
)
async def test_malformed_requests_get_a_400_with_a_reason(client, body: dict, reason: str) -> None:
    response = await client.post("/ussd/generic", json=body)
    text = await response.text()
    assert response.status == 400
    assert text.startswith(f"bad request: {reason}")
    assert text.count("\n") == 1


async def test_wrong_content_type_is_refused(client) -> None:
    response = await client.post("/ussd/generic", data={"session_id": "s"})
    assert response.status == 400
    assert "expected a JSON body" in await response.text()


@PARSER_FUZZ
@given(json_bodies(KEYS, {"event": st.sampled_from(["start", "continue", "end"])}))
def test_parser_accepts_or_refuses_cleanly(data: Any) -> None:
    if not isinstance(data, dict):
        return
    try:
        parsed = generic.parse(data)
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
                "session_id": st.sampled_from(["g1", "g2"]),
                "phone": st.just("+255754000111"),
                "service_code": st.sampled_from(["*152*00#", "*152*00*1#", "*1#"]),
                "text": WEIRD_TEXT,
                "mode": st.sampled_from(["cumulative", "latest"]),
                "event": st.sampled_from(["start", "continue", "end"]),
            },
        ),
        KEYS,
    ),
    st.sampled_from(["application/json", "", "text/plain", "application/x-www-form-urlencoded"]),
)
def test_webhook_never_answers_5xx(live, body: bytes, content_type: str) -> None:
    status, _, answer = live.post("/ussd/generic", body, content_type)
    assert status < 500, answer
    if status == 200:
        assert json.loads(answer)["action"] in ("continue", "end")


@FUZZ
@given(st.sampled_from(["cumulative", "latest"]), TYPED)
def test_any_typed_session_gets_a_screen_on_every_hop(live, mode: str, typed: list[str]) -> None:
    session = uuid.uuid4().hex
    ended = False
    hops = [("start", "")] + [
        ("continue", "*".join(typed[: i + 1]) if mode == "cumulative" else entry)
        for i, entry in enumerate(typed)
    ]
    for sequence, (event, text) in enumerate(hops):
        body = dict(recorded(event, text, mode=mode, session=session), sequence=sequence)
        status, _, answer = live.post("/ussd/generic", json.dumps(body).encode(), "")
        assert status == 200, answer
        reply = json.loads(answer)
        assert reply["text"].strip() and reply["session_id"] == session
        assert not ended or reply["action"] == "end", "a session came back to life"
        ended = reply["action"] == "end"


async def test_documented_examples_give_the_documented_answers(client) -> None:
    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "providers.md").read_text().split("## generic", 1)[1]
    blocks = [json.loads(b.split("```", 1)[0]) for b in doc.split("```json\n")[1:]]
    assert len(blocks) == 6
    for request, answer in zip(blocks[::2], blocks[1::2], strict=True):
        assert await post(client, request) == answer


async def test_a_body_arriving_in_pieces_is_read_whole(client) -> None:
    body = json.dumps(recorded("start", "", session="pieces")).encode()

    async def slowly():
        for i in range(0, len(body), 16):
            yield body[i : i + 16]
            await asyncio.sleep(0.01)

    response = await client.post(
        "/ussd/generic", data=slowly(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["text"].startswith("Karibu e-Mrejesho")
    huge = json.dumps(recorded("start", "9" * 3000, session="big")).encode() * 3

    async def too_much():
        for i in range(0, len(huge), 1000):
            yield huge[i : i + 1000]

    response = await client.post("/ussd/generic", data=too_much())
    assert response.status == 400
    assert await response.text() == "bad request: body larger than 8192 bytes\n"
