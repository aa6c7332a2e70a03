"""Status reports from a backend (``POST /backends/feedback/status``) and the track screen."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from aiohttp.test_utils import TestClient

from tests.support.clock import FakeClock
from tests.support.phone import Phone
from tests.test_journeys import give_feedback
from ussd_gateway.adapters.connectors.http import sign
from ussd_gateway.domain.submissions import StatusChange
from ussd_gateway.http.backend_status import STATUS_LISTENERS
from ussd_gateway.http.keys import SUBMISSIONS

ENV = {"BACKEND_FEEDBACK_TOKEN": "right-token", "BACKEND_FEEDBACK_SECRET": "hmac-key"}
URL = "/backends/feedback/status"
NOTE = {"sw": "Bomba limerekebishwa", "en": "The pipe was repaired"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(gateway, database_url: str, clock: FakeClock) -> TestClient:
    return await gateway(database_url=database_url, env=ENV, clock=clock)


def signed(body: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    """``body`` as a backend signing with its secret sends it."""
    data = json.dumps(body).encode()
    return data, {"X-Signature": "sha256=" + sign("hmac-key", data)}


def stamp(clock: FakeClock, offset: float = 0.0) -> str:
    moment = dt.datetime.fromtimestamp(clock.time() + offset, dt.UTC)
    return moment.isoformat().replace("+00:00", "Z")


async def report(client: TestClient, body: object, headers: dict[str, str] | None = None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": "Bearer right-token"} if headers is None else headers
    response = await client.post(URL, data=data, headers=headers)
    return response.status, await response.json()


async def track(phone: Phone, reference: str, *, english: bool = False) -> str:
    await phone.dial()
    if english:
        await phone.walk("3", "2")
    await phone.send("2")
    return await phone.send(reference)


async def test_wrong_token_is_refused_and_changes_nothing(client: TestClient):
    reference = await give_feedback(Phone(client))
    body = {"reference": reference, "status": "resolved", "note": "Done"}
    for headers in (
        {"Authorization": "Bearer wrong-token"},
        {},
        {"X-Signature": "sha256=" + "0" * 64},
        {"X-Signature": "sha256=" + sign("other-key", json.dumps(body).encode())},
    ):
        status, answer = await report(client, body, headers)
        assert (status, answer) == (401, {"error": "missing or wrong token or signature"})
    view = await client.app[SUBMISSIONS].get(reference)
    assert view is not None and view.status == "pending" and view.status_note is None


async def test_note_is_shown_on_the_track_screen_in_the_citizens_language(client: TestClient):
    phone = Phone(client)
    reference = await give_feedback(phone)
    changes: list[StatusChange] = []

    async def listener(change: StatusChange) -> None:
        changes.append(change)

    client.app[STATUS_LISTENERS].append(listener)
    status, answer = await report(
        client, {"reference": reference.lower(), "status": "resolved", "note": NOTE}
    )
    assert status == 200
    assert answer == {
        "reference": reference,
        "status": "resolved",
        "previous": "pending",
        "changed": True,
    }
    assert [(c.reference, c.previous, c.status) for c in changes] == [
        (reference, "pending", "resolved")
    ]

    swahili = await track(phone, reference)
    assert swahili.startswith(f"END Namba ya kumbukumbu {reference}")
    assert "Imepatiwa ufumbuzi\nBomba limerekebishwa" in swahili
    english = await track(phone, reference, english=True)
    assert english.startswith(f"END Reference number {reference}")
    assert "Resolved\nThe pipe was repaired" in english


async def test_signed_report_with_a_plain_note(client: TestClient, clock: FakeClock):
    phone = Phone(client)
    reference = await give_feedback(phone)
    body = {"reference": reference, "status": "in_progress", "note": "Tunafuatilia"}
    status, _ = await report(client, *signed({**body, "timestamp": stamp(clock)}))
    assert status == 200
    shown = await track(phone, reference, english=True)
    assert "Being handled\nTunafuatilia" in shown


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "body is not JSON"),
        ([1, 2], "body must be a JSON object"),
        ({"status": "resolved"}, "reference is missing"),
        ({"reference": "ZCFG7HU3", "status": "done"}, "status must be one of"),
        ({"reference": "ZCFG7HU3", "status": "resolved", "note": 5}, "note must be a string"),
        ({"reference": "ZCFG7HU3", "status": "resolved", "note": "x" * 301}, "longer than 300"),
    ],
)
async def test_bad_report_gets_a_reason(client: TestClient, body: object, reason: str):
    status, answer = await report(client, body)
    assert status == 400 and reason in answer["error"]


async def test_unknown_reference_or_backend_is_not_found(client: TestClient):
    status, answer = await report(client, {"reference": "ZCFG7HU3", "status": "resolved"})
    assert status == 404 and "ZCFG7HU3" in answer["error"]
    status, _ = await report(client, {"reference": "nonsense", "status": "resolved"})
    assert status == 404
    response = await client.post("/backends/nosuch/status", data=b"{}")
    assert response.status == 404


def test_note_falls_back_to_the_services_default_language():
    from ussd_gateway.engine.screens.lookup import note_in

    assert note_in({"sw": "Imekamilika"}, "en", ("sw", "en")) == "Imekamilika"
    assert note_in({"fr": "Fini"}, "en", ("sw", "en")) == "Fini"
    assert note_in("Plain", "en", ("sw", "en")) == "Plain"
    assert note_in(None, "en", ("sw", "en")) == ""


# ---- statuses move forward only; a signed report is good for a short while -----------------


async def test_a_case_never_goes_back_and_an_old_body_replayed_is_refused(client: TestClient):
    phone = Phone(client)
    reference = await give_feedback(phone)
    changes: list[StatusChange] = []

    async def listener(change: StatusChange) -> None:
        changes.append(change)

    client.app[STATUS_LISTENERS].append(listener)
    first = {"reference": reference, "status": "in_progress", "note": "Tunafuatilia"}
    assert (await report(client, first))[0] == 200
    assert (await report(client, {"reference": reference, "status": "resolved", "note": NOTE}))[
        0
    ] == 200

    status, answer = await report(client, first)  # the first body again
    assert status == 409
    assert answer == {
        "error": "status is resolved; it cannot go back to in_progress (report reopened)",
        "current": "resolved",
        "attempted": "in_progress",
    }
    status, answer = await report(client, {"reference": reference, "status": "received"})
    assert (status, answer["current"], answer["attempted"]) == (409, "resolved", "received")
    assert [c.status for c in changes] == ["in_progress", "resolved"]  # nobody told otherwise
    shown = await track(phone, reference)
    assert "Imepatiwa ufumbuzi\nBomba limerekebishwa" in shown
    assert "Inashughulikiwa" not in shown


async def test_a_repeat_of_the_current_status_changes_nothing(client: TestClient):
    phone = Phone(client)
    reference = await give_feedback(phone)
    changes: list[StatusChange] = []

    async def listener(change: StatusChange) -> None:
        changes.append(change)

    client.app[STATUS_LISTENERS].append(listener)
    body = {"reference": reference, "status": "resolved", "note": NOTE}
    assert (await report(client, body))[0] == 200
    before = await client.app[SUBMISSIONS].get(reference)
    status, answer = await report(client, {**body, "note": "Something else"})
    assert (status, answer) == (
        200,
        {"reference": reference, "status": "resolved", "previous": "resolved", "changed": False},
    )
    assert len(changes) == 1  # no second SMS
    after = await client.app[SUBMISSIONS].get(reference)
    assert after == before


async def test_a_closed_case_reopens_only_when_said_so(client: TestClient):
    phone = Phone(client)
    reference = await give_feedback(phone)
    status, answer = await report(client, {"reference": reference, "status": "reopened"})
    assert status == 409 and answer["error"] == (
        "cannot reopen: status is pending, not resolved or rejected"
    )
    for step in ("received", "rejected"):
        assert (await report(client, {"reference": reference, "status": step}))[0] == 200
    status, answer = await report(client, {"reference": reference, "status": "resolved"})
    assert (status, answer["error"]) == (
        409,
        "status is already rejected; report reopened first to change it",
    )
    for step in ("reopened", "in_progress"):
        assert (await report(client, {"reference": reference, "status": step}))[0] == 200
    assert "Inashughulikiwa" in await track(phone, reference)
    status, answer = await report(client, {"reference": reference, "status": "received"})
    assert (status, answer["error"]) == (409, "status cannot go back from in_progress to received")


async def test_a_signed_report_needs_a_fresh_timestamp(client: TestClient, clock: FakeClock):
    phone = Phone(client)
    reference = await give_feedback(phone)
    body = {"reference": reference, "status": "in_progress"}

    status, answer = await report(client, *signed(body))
    assert (status, answer["error"]) == (
        400,
        "timestamp is missing: a signed report must carry one (ISO 8601 or Unix seconds)",
    )
    status, answer = await report(client, *signed({**body, "timestamp": "yesterday"}))
    assert status == 400 and answer["error"].startswith("timestamp must be ISO 8601")
    status, answer = await report(client, *signed({**body, "timestamp": stamp(clock, -301)}))
    assert status == 401 and "is 301s old; reports are accepted within 300s" in answer["error"]
    status, answer = await report(client, *signed({**body, "timestamp": stamp(clock, 400)}))
    assert status == 401 and "400s in the future" in answer["error"]
    view = await client.app[SUBMISSIONS].get(reference)
    assert view is not None and view.status == "pending"

    fresh = signed({**body, "timestamp": clock.time() - 10})  # Unix seconds do too
    assert (await report(client, *fresh))[0] == 200
    clock.advance(301)
    status, answer = await report(client, *fresh)  # the same signed body, replayed later
    assert status == 401 and "old" in answer["error"]


async def test_a_signed_report_older_than_the_last_one_taken_is_refused(
    client: TestClient, clock: FakeClock
):
    phone = Phone(client)
    reference = await give_feedback(phone)
    resolved = {"reference": reference, "status": "resolved", "timestamp": stamp(clock, -5)}
    assert (await report(client, *signed(resolved)))[0] == 200
    reopened = {"reference": reference, "status": "reopened", "timestamp": stamp(clock, -3)}
    assert (await report(client, *signed(reopened)))[0] == 200
    closed = {"reference": reference, "status": "resolved", "timestamp": stamp(clock, -1)}
    assert (await report(client, *signed(closed)))[0] == 200

    status, answer = await report(client, *signed(reopened))  # replayed within the window
    assert status == 409 and answer["error"] == (
        f"report of {reopened['timestamp']} is older than the last one taken "
        f"({closed['timestamp']})"
    )
    assert "Imepatiwa ufumbuzi" in await track(phone, reference)
