"""Status reports from a backend (``POST /backends/feedback/status``) and the track screen."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient

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
async def client(gateway, database_url: str) -> TestClient:
    return await gateway(database_url=database_url, env=ENV)


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
    assert answer == {"reference": reference, "status": "resolved", "previous": "pending"}
    assert [(c.reference, c.previous, c.status) for c in changes] == [
        (reference, "pending", "resolved")
    ]

    swahili = await track(phone, reference)
    assert swahili.startswith(f"END Kumbukumbu {reference}")
    assert "Imeshughulikiwa\nBomba limerekebishwa" in swahili
    english = await track(phone, reference, english=True)
    assert english.startswith(f"END Reference {reference}")
    assert "Resolved\nThe pipe was repaired" in english


async def test_signed_report_with_a_plain_note(client: TestClient):
    phone = Phone(client)
    reference = await give_feedback(phone)
    body = json.dumps({"reference": reference, "status": "in_progress", "note": "Tunafuatilia"})
    signature = "sha256=" + sign("hmac-key", body.encode())
    status, _ = await report(client, body.encode(), {"X-Signature": signature})
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
