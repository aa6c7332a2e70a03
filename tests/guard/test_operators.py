"""Operators' tokens open the admin actions on their own institution's services only, and every
reload, retry and status change lands in the audit log with who did it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from tests.guard.helpers import start
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.domain.submissions import SubmissionDraft
from ussd_gateway.http.keys import SUBMISSIONS

ADMIN_TOKEN = "global-admin-token"
EGA_TOKEN = "ega-operators-token"
MAFUNZO_TOKEN = "mafunzo-operators-token"

OPERATORS = {
    # the file holds only the token's SHA-256 ...
    "ega": {
        "institutions": ["e-government authority  (e-GA)"],  # case and spacing do not matter
        "token_sha256": hashlib.sha256(EGA_TOKEN.encode()).hexdigest(),
    },
    # ... or the token comes from OPERATOR_<NAME>_TOKEN
    "mafunzo": {"institutions": ["e-Government Authority (e-GA), Mafunzo na Semina"]},
}
ENV = {
    "ADMIN_TOKEN": ADMIN_TOKEN,
    "OPERATOR_MAFUNZO_TOKEN": MAFUNZO_TOKEN,
    "BACKEND_FEEDBACK_TOKEN": "backend-token",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def gateway(aiohttp_client, database_url: str) -> TestClient:
    return await start(
        aiohttp_client, database_url=database_url, sections={"operators": OPERATORS}, env=ENV
    )


async def call(
    client: TestClient, method: str, path: str, token: str, **params: str
) -> tuple[int, Any]:
    response = await client.request(method, path, headers=bearer(token), params=params)
    return response.status, await response.json()


async def audit_log(client: TestClient, **params: str) -> list[dict[str, Any]]:
    status, body = await call(client, "GET", "/admin/audit", ADMIN_TOKEN, **params)
    assert status == 200, body
    return [
        {k: row[k] for k in ("actor", "action", "target", "service", "result")}
        for row in reversed(body["entries"])
    ]


async def submitted(client: TestClient, service: str, key: str) -> str:
    return await client.app[SUBMISSIONS].submit(
        SubmissionDraft(
            idempotency_key=key,
            service=service,
            backend="feedback",
            channel="ussd",
            language="sw",
            data={"body": "x"},
            phone="+255712345678",
        )
    )


async def mark_failed(database_url: str, *references: str, status: str = "failed") -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Submission)
                .where(Submission.reference.in_(references))
                .values(status=status, attempts=3, last_error="HTTP 400")
            )
    finally:
        await engine.dispose()


async def test_an_operator_reloads_and_inspects_its_own_service_only(
    aiohttp_client, database_url
) -> None:
    client = await gateway(aiohttp_client, database_url)

    status, body = await call(client, "POST", "/admin/reload", EGA_TOKEN, service="mrejesho")
    assert status == 200 and body["ok"] is True and body["trigger"] == "ega"
    status, body = await call(client, "POST", "/admin/reload", EGA_TOKEN, service="egov_meeting")
    assert (status, body) == (403, {"error": "service 'egov_meeting' is not one of ega's services"})
    status, body = await call(client, "POST", "/admin/reload", EGA_TOKEN)
    assert status == 403 and "?service=<name>" in body["error"]
    status, body = await call(
        client, "POST", "/admin/reload", MAFUNZO_TOKEN, service="egov_meeting"
    )
    assert status == 200 and body["trigger"] == "mafunzo"

    status, body = await call(client, "GET", "/admin/menus", EGA_TOKEN)
    assert status == 200 and "mrejesho" in body["services"]
    assert "egov_meeting" not in body["services"]
    status, body = await call(client, "GET", "/admin/menus", ADMIN_TOKEN)
    assert {"mrejesho", "egov_meeting"} <= set(body["services"])
    status, body = await call(client, "POST", "/admin/reload", ADMIN_TOKEN)
    assert status == 200 and body["trigger"] == "admin"

    assert await audit_log(client, action="reload") == [
        {"actor": "ega", "action": "reload", "target": "mrejesho", "service": "mrejesho",
         "result": "ok"},
        {"actor": "ega", "action": "reload", "target": "egov_meeting", "service": "egov_meeting",
         "result": "refused"},
        {"actor": "ega", "action": "reload", "target": "*", "service": None, "result": "refused"},
        {"actor": "mafunzo", "action": "reload", "target": "egov_meeting",
         "service": "egov_meeting", "result": "ok"},
        {"actor": "admin", "action": "reload", "target": "*", "service": None, "result": "ok"},
    ]  # fmt: skip
    # an operator reads the rows of its own actions only
    status, body = await call(client, "GET", "/admin/audit", MAFUNZO_TOKEN)
    assert status == 200 and {row["actor"] for row in body["entries"]} == {"mafunzo"}


async def test_an_operator_lists_and_retries_its_own_submissions_only(
    aiohttp_client, database_url
) -> None:
    client = await gateway(aiohttp_client, database_url)
    own = await submitted(client, "mrejesho", "k-own")
    other = await submitted(client, "egov_meeting", "k-other")
    await mark_failed(database_url, own, other)

    status, body = await call(client, "GET", "/admin/submissions", EGA_TOKEN)
    assert status == 200 and [s["reference"] for s in body["submissions"]] == [own]
    assert body["submissions"][0]["phone"] == "+2557*****678"  # masked, as on the command line
    status, body = await call(
        client, "GET", "/admin/submissions", EGA_TOKEN, service="egov_meeting"
    )
    assert status == 403 and "not one of ega's services" in body["error"]
    status, body = await call(client, "GET", f"/admin/submissions/{other}", EGA_TOKEN)
    assert status == 403 and "belongs to service 'egov_meeting'" in body["error"]
    status, body = await call(client, "GET", f"/admin/submissions/{own}", EGA_TOKEN)
    assert status == 200 and body["status"] == "failed"

    status, body = await call(client, "POST", f"/admin/submissions/{other}/retry", EGA_TOKEN)
    assert status == 403 and "belongs to service 'egov_meeting'" in body["error"]
    status, body = await call(client, "POST", f"/admin/submissions/{own}/retry", EGA_TOKEN)
    assert (status, body) == (200, {"requeued": [own]})
    await mark_failed(database_url, own, status="delivered")
    status, body = await call(client, "POST", f"/admin/submissions/{own}/retry", EGA_TOKEN)
    assert (status, body) == (
        409,
        {"error": f"{own} is delivered: only failed, dead or pending ones are retried"},
    )
    status, body = await call(client, "GET", "/admin/submissions", ADMIN_TOKEN, status="failed")
    assert [s["reference"] for s in body["submissions"]] == [other]  # the other one untouched
    status, body = await call(client, "POST", f"/admin/submissions/{other}/retry", ADMIN_TOKEN)
    assert (status, body) == (200, {"requeued": [other]})

    assert await audit_log(client, action="retry") == [
        {"actor": "ega", "action": "retry", "target": other, "service": "egov_meeting",
         "result": "refused"},
        {"actor": "ega", "action": "retry", "target": own, "service": "mrejesho", "result": "ok"},
        {"actor": "ega", "action": "retry", "target": own, "service": "mrejesho",
         "result": "not_retryable"},
        {"actor": "admin", "action": "retry", "target": other, "service": "egov_meeting",
         "result": "ok"},
    ]  # fmt: skip


async def test_tokens_that_open_nothing(aiohttp_client, database_url) -> None:
    client = await gateway(aiohttp_client, database_url)
    for headers in ({}, bearer("guess"), {"Authorization": f"Basic {EGA_TOKEN}"}):
        response = await client.get("/admin/submissions", headers=headers)
        assert response.status == 401
    # the digest is not a token
    digest = OPERATORS["ega"]["token_sha256"]
    assert (await client.get("/admin/menus", headers=bearer(digest))).status == 401
    # an admin path no operator endpoint handles: refused with the reason, not opened
    response = await client.get("/admin/unknown", headers=bearer(EGA_TOKEN))
    assert response.status == 403 and "needs ADMIN_TOKEN" in (await response.json())["error"]


async def test_a_backends_status_change_is_audited(aiohttp_client, database_url) -> None:
    client = await gateway(aiohttp_client, database_url)
    reference = await submitted(client, "mrejesho", "k-status")
    response = await client.post(
        "/backends/feedback/status",
        data=json.dumps({"reference": reference, "status": "in_progress"}),
        headers=bearer("backend-token"),
    )
    assert response.status == 200, await response.text()
    assert await audit_log(client, action="status") == [
        {"actor": "backend:feedback", "action": "status", "target": reference, "service": None,
         "result": "in_progress"},
    ]  # fmt: skip
