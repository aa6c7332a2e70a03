"""Beem: JSON initiate/continue/terminate, newest entry only, ids echoed in JSON replies."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.providers.drivers import Beem
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
from ussd_gateway.config.settings import ConfigError
from ussd_gateway.domain.ussd import BadRequest, SessionEnd, UssdRequest
from ussd_gateway.http.keys import HOPS, SUBMISSIONS
from ussd_gateway.http.providers import beem

RESUME = "Hukumaliza ulichokuwa ukifanya."
KEYS = ["command", "msisdn", "operator", "session_id", "payload"]


def recorded(command: str, response: Any, request_id: Any, session: Any = 4574) -> dict:
    """Shaped like the payloads in public integrations with Beem's USSD hub."""
    return {
        "command": command,
        "msisdn": "255762089337",
        "session_id": session,
        "operator": "vodacom",
        "payload": {"request_id": request_id, "response": response},
    }


async def post(client, body: Any) -> dict:
    response = await client.post("/ussd/beem", json=body)
    assert response.status == 200, await response.text()
    return await response.json()


@BOTH_STORES
async def test_recorded_journey_start_continue_end(client) -> None:
    first = await post(client, recorded("initiate", 0, 0))
    assert first["command"] == "continue"
    assert first["msisdn"] == "255762089337" and first["operator"] == "vodacom"
    assert first["session_id"] == "4574"
    assert first["payload"]["request"].startswith("Karibu e-Mrejesho\n1. Toa mrejesho")
    assert first["payload"]["request_id"] == 1
    replies = []
    request_id = first["payload"]["request_id"]
    for entry in ["1", "1", "2", MESSAGE, "1", "Amina Juma", "1"]:
        reply = await post(client, recorded("continue", entry, request_id))
        request_id = reply["payload"]["request_id"]
        replies.append(reply)
    assert [r["command"] for r in replies] == ["continue"] * 6 + ["terminate"]
    reference = reference_in(replies[-1]["payload"]["request"])
    assert await client.app[SUBMISSIONS].count(phone="+255762089337") == 1
    assert (await client.app[SUBMISSIONS].get(reference)) is not None
    # the hub's terminate after our last screen is acknowledged and changes nothing
    ack = await post(client, recorded("terminate", "", request_id))
    assert ack["command"] == "terminate" and ack["session_id"] == "4574"
    session = await client.app[HOPS].store.get("beem:4574")
    assert session is not None and session.end_reason == "terminate"


async def test_numbers_as_entries_and_extended_code_on_initiate(client) -> None:
    kind = await post(client, recorded("initiate", "*152*00*1#", 0, session=77))
    assert kind["payload"]["request"].startswith("Aina ya mrejesho")
    listing = await post(client, recorded("continue", 1, 1, session=77))  # a JSON number
    assert "Chagua taasisi" in listing["payload"]["request"]


async def test_repeated_initiate_and_retries_do_not_derail_the_session(client) -> None:
    phone = Beem(client)
    home = await phone.dial()
    initiate = phone.last
    assert await phone.retry() == home
    kind = await phone.send("1")
    assert await phone.retry() == kind  # same request_id: a retry
    assert await phone.post(*initiate) == kind  # a late copy of the initiate
    assert "Chagua taasisi" in (await phone.send("1")).text  # same entry, new id: new hop


@BOTH_STORES
async def test_terminate_mid_journey_keeps_it_resumable(client) -> None:
    phone = Beem(client)
    await phone.dial()
    institutions = await phone.walk("1", "1")
    ack = json.loads(await phone.end())
    assert ack["command"] == "terminate" and ack["msisdn"] == "255712345678"
    offer = await phone.dial()
    assert offer.text.startswith(RESUME)
    assert await phone.send("1") == institutions


async def test_service_code_comes_from_the_beem_section(gateway) -> None:
    client = await gateway(sections={"beem": {"service_code": "*999#"}})
    reply = await post(client, recorded("initiate", 0, 0))
    assert reply["command"] == "terminate"
    assert reply["payload"]["request"].startswith("Samahani, huduma hii haipo.")
    with pytest.raises(ConfigError, match=r"gateway\.yaml: beem: expected a mapping, got '\*152"):
        await gateway(sections={"beem": "*152*00#"})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "body is not valid JSON"),
        (b'"initiate"', "body is not a JSON object"),
        (b'{"command": "initiate", "msisdn": "255762089337"}', "missing or empty session_id"),
        (b'{"command": "jump", "session_id": 1}', "command must be"),
        (b'{"command": "continue", "session_id": 1, "msisdn": "x"}', "msisdn is not a phone"),
        (b'{"command": "continue", "session_id": 1, "msisdn": "255762089337", "payload": []}', ""),
        (b'{"command": ["initiate"], "session_id": 1}', "command must be a string"),
    ],
)
async def test_malformed_requests_get_a_400_with_a_reason(client, body: bytes, reason: str) -> None:
    response = await client.post(
        "/ussd/beem", data=body, headers={"Content-Type": "application/json"}
    )
    text = await response.text()
    assert response.status == 400
    assert text.startswith("bad request: ") and text.count("\n") == 1
    assert reason in text


@PARSER_FUZZ
@given(json_bodies(KEYS, {"command": st.sampled_from(["initiate", "continue", "terminate"])}))
def test_parser_accepts_or_refuses_cleanly(data: Any) -> None:
    if not isinstance(data, dict):
        return
    try:
        parsed = beem.parse(data, beem.BeemSettings("*152*00#"))
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
                "command": st.sampled_from(["initiate", "continue", "terminate"]),
                "msisdn": st.just("255762089337"),
                "session_id": st.sampled_from(["b1", 2]),
                "payload": st.fixed_dictionaries(
                    {"request_id": st.integers(0, 3), "response": WEIRD_TEXT}
                ),
            },
        ),
        KEYS,
    ),
    st.sampled_from(["application/json", "", "text/plain", "application/x-www-form-urlencoded"]),
)
def test_webhook_never_answers_5xx(live, body: bytes, content_type: str) -> None:
    status, _, answer = live.post("/ussd/beem", body, content_type)
    assert status < 500, answer
    if status == 200:
        assert json.loads(answer)["command"] in ("continue", "terminate")


@FUZZ
@given(TYPED)
def test_any_typed_session_gets_a_screen_on_every_hop(live, typed: list[str]) -> None:
    session = uuid.uuid4().hex
    request_id: Any = 0
    ended = False
    for command, entry in [("initiate", "0")] + [("continue", entry) for entry in typed]:
        body = json.dumps(recorded(command, entry, request_id, session=session)).encode()
        status, _, answer = live.post("/ussd/beem", body, "application/json")
        assert status == 200, answer
        reply = json.loads(answer)
        assert reply["payload"]["request"].strip() and reply["session_id"] == session
        assert not ended or reply["command"] == "terminate", "a session came back to life"
        ended = reply["command"] == "terminate"
        request_id = reply["payload"]["request_id"]
