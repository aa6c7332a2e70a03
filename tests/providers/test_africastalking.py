"""Africa's Talking: form posts with cumulative text, CON/END, end-of-session notifications."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.providers.drivers import AfricasTalking
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
from ussd_gateway.domain.ussd import BadRequest
from ussd_gateway.http.keys import SESSIONS, SUBMISSIONS
from ussd_gateway.http.providers import africastalking

RESUME = "Hukumaliza ulichokuwa ukifanya."
FORM_KEYS = ["sessionId", "serviceCode", "phoneNumber", "networkCode", "text"]
EVENT_KEYS = [
    *FORM_KEYS[:4],
    *["date", "status", "cost", "durationInMillis", "hopsCount", "input"],
    *["lastAppResponse", "errorMessage"],
]


def notification(session: str, status: str, **extra: str) -> dict[str, str]:
    """Shaped like Africa's Talking's end-of-session notification."""
    return {
        "sessionId": session,
        "serviceCode": "*152*00#",
        "phoneNumber": "+255712345678",
        "networkCode": "64004",
        "date": "2026-11-23 10:00:00.000",
        "status": status,
        "cost": "TZS 0.0000",
        "durationInMillis": "42000",
        "hopsCount": "3",
        "input": "1*1",
        "lastAppResponse": "CON Chagua taasisi",
        "errorMessage": "",
        **extra,
    }


async def test_recorded_journey_then_success_notification(client) -> None:
    phone = AfricasTalking(client)
    await phone.dial()
    await phone.walk("1", "1", "2", MESSAGE, "2")
    final = await phone.send("1")
    assert final.end
    reference_in(final.text)
    assert await phone.end(dropped=False) == ""
    session = await client.app[SESSIONS].get(f"africastalking:{phone.session_id}")
    assert session is not None and session.end_reason == "Success"
    assert await client.app[SUBMISSIONS].count() == 1


@BOTH_STORES
async def test_incomplete_notification_keeps_the_journey_resumable(client) -> None:
    phone = AfricasTalking(client)
    await phone.dial()
    institutions = await phone.walk("1", "1")
    await phone.end(dropped=True)
    session = await client.app[SESSIONS].get(f"africastalking:{phone.session_id}")
    assert session is not None and session.end_reason == "Incomplete"
    offer = await phone.dial()
    assert offer.text.startswith(RESUME)
    assert await phone.send("1") == institutions


async def test_failed_notification_records_the_error_and_stays_resumable(client) -> None:
    phone = AfricasTalking(client)
    await phone.dial()
    await phone.walk("1", "1")
    body = notification(phone.session_id, "Failed", errorMessage="Timeout\nfrom app")
    response = await client.post("/ussd/africastalking/events", data=body)
    assert response.status == 200 and await response.text() == ""
    session = await client.app[SESSIONS].get(f"africastalking:{phone.session_id}")
    assert session is not None and session.end_reason == "Failed: Timeout from app"
    assert (await phone.dial()).text.startswith(RESUME)


@BOTH_STORES
async def test_success_notification_is_not_resumable(client) -> None:
    phone = AfricasTalking(client)
    await phone.dial()
    await phone.walk("1", "1")
    await phone.end(dropped=False)
    assert (await phone.dial()).text.startswith("Karibu e-Mrejesho")


async def test_notification_for_an_unknown_session_is_acknowledged(client) -> None:
    response = await client.post(
        "/ussd/africastalking/events", data=notification("ATUid_never", "Incomplete")
    )
    assert response.status == 200


async def test_repeated_first_hop_gets_the_current_screen(client) -> None:
    phone = AfricasTalking(client)
    await phone.dial()
    first = phone.last
    kind = await phone.send("1")
    assert await phone.post(*first) == kind  # not "wrong choice": nothing was typed
    assert "Chagua taasisi" in (await phone.send("1")).text


async def test_telco_sending_only_the_newest_entry_still_advances(client) -> None:
    phone = AfricasTalking(client)
    await phone.dial()
    await phone.walk("1", "1")
    form = phone.form() | {"text": "2"}  # the telco dropped the history: "2", not "1*1*2"
    body = await phone.post("form", form)
    assert body.text.startswith("TRA - Mapato\nAndika ujumbe wako")
    # (an entry equal to the whole history so far, "1" after "1", cannot be told from a retry)


async def test_token_segment_is_accepted_and_unknown_providers_are_not_found(client) -> None:
    phone = AfricasTalking(client)
    phone.session_id = "ATUid_token"
    response = await client.post("/ussd/africastalking/s3cr3t", data=phone.form())
    assert response.status == 200 and (await response.text()).startswith("CON Karibu")
    response = await client.post("/ussd/nobody", data=phone.form())
    assert response.status == 404
    events = "/ussd/africastalking/s3cr3t/events"
    response = await client.post(events, data=notification("ATUid_token", "Incomplete"))
    assert response.status == 200
    session = await client.app[SESSIONS].get("africastalking:ATUid_token")
    assert session is not None and session.end_reason == "Incomplete"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"status": "Incomplete"}, "missing or empty sessionId"),
        ({"sessionId": "ATUid_1"}, "missing or empty status"),
        ({"sessionId": "ATUid_1", "status": "x" * 41}, "status longer than 40"),
    ],
)
async def test_malformed_notifications_get_a_400(client, body: dict, reason: str) -> None:
    response = await client.post("/ussd/africastalking/events", data=body)
    assert response.status == 400
    assert (await response.text()).startswith(f"bad request: {reason}")


async def test_malformed_webhook_gets_a_400(client) -> None:
    response = await client.post("/ussd/africastalking", data={"sessionId": "x"})
    assert response.status == 400
    assert (await response.text()) == "bad request: missing or empty phoneNumber\n"


@PARSER_FUZZ
@given(st.dictionaries(st.sampled_from(FORM_KEYS), WEIRD_TEXT))
def test_parser_accepts_or_refuses_cleanly(form: dict[str, str]) -> None:
    try:
        parsed = africastalking.parse_form(urlencode(form).encode())
    except BadRequest as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert parsed.session_id and parsed.phone and parsed.cumulative


@FUZZ
@given(
    bodies(json_bodies(FORM_KEYS, {}), FORM_KEYS),
    st.sampled_from(["application/x-www-form-urlencoded", "", "application/json"]),
)
def test_webhook_never_answers_5xx(live, body: bytes, content_type: str) -> None:
    status, _, answer = live.post("/ussd/africastalking", body, content_type)
    assert status < 500, answer
    if status == 200:
        assert answer.startswith((b"CON ", b"END "))


@FUZZ
@given(bodies(json_bodies(EVENT_KEYS, {}), EVENT_KEYS), st.sampled_from(["", "text/plain"]))
def test_events_never_answer_5xx(live, body: bytes, content_type: str) -> None:
    status, _, answer = live.post("/ussd/africastalking/events", body, content_type)
    assert status < 500, answer


@FUZZ
@given(TYPED, st.sampled_from(["Incomplete", "Success", "Failed", "Other"]))
def test_any_typed_session_then_its_notification(live, typed: list[str], status: str) -> None:
    session = f"ATUid_{uuid.uuid4().hex}"
    ended = False
    for i in range(len(typed) + 1):
        form: dict[str, Any] = {
            "sessionId": session,
            "serviceCode": "*152*00#",
            "phoneNumber": "+255712000999",
            "text": "*".join(typed[:i]),
        }
        code, _, answer = live.post(
            "/ussd/africastalking", urlencode(form).encode(), "application/x-www-form-urlencoded"
        )
        assert code == 200, answer
        assert answer.startswith(b"END ") or not ended, "a session came back to life"
        ended = answer.startswith(b"END ")
    code, _, _ = live.post(
        "/ussd/africastalking/events", urlencode(notification(session, status)).encode(), ""
    )
    assert code == 200


async def test_unicode_digits_get_the_hint_not_a_crash(client) -> None:
    """'³'.isdigit() is true but int('³') fails: found by the fuzz tests (a 500 before)."""
    phone = AfricasTalking(client)
    await phone.dial()
    assert (await phone.send("³")).text.startswith("Chaguo si sahihi.")
    await phone.walk("1", "1")
    assert (await phone.send("²")).text.startswith("Chaguo si sahihi.")
