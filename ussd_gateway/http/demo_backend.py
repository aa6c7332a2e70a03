"""A small feedback-intake service for demos and tests (``ussd-gateway demo-backend``).

- ``POST /feedback`` (or ``/``; ``/meetings`` for e-Government meeting registrations): takes a
  delivery, answers ``201 {"case_number": …}``; the same
  ``Idempotency-Key`` again gets the same case number (``200``) and counts as a duplicate.
- each path stands in for the gateway backend of the same name and checks that backend's
  credentials: ``Authorization: Bearer <token>`` and/or ``X-Signature: sha256=<hmac>`` when it
  has a token/secret, nothing when it has none (``/`` is the ``--backend``, ``feedback``).
- ``GET /bills/{control number}``: the GePG bill check's ``bills`` backend: ``200`` with the
  bill for the numbers in ``BILLS`` (991234567890 and 991234567891), ``404`` for any other.
  ``/bill_notices`` takes the requests for payment instructions like any delivery.
- ``GET /stats``: ``{received, duplicates, cases}``; ``GET /cases``: every case.
- ``POST /cases/{case}/status`` ``{"status": "resolved", "note": …}``: reports back to the
  gateway's ``/backends/<the case's backend>/status`` with that backend's credentials.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from ussd_gateway.adapters.connectors.http import sign

log = logging.getLogger("ussd_gateway.demo_backend")


@dataclass(frozen=True)
class Credentials:
    """What the gateway's backend of one name sends: checked on its deliveries, sent back on
    its status reports."""

    token: str | None = None
    secret: str | None = None


PATHS = ("feedback", "meetings", "bill_notices")
"""The gateway's shipped backends this stand-in answers for, each at its own path."""


@dataclass
class DemoState:
    token: str | None = None
    secret: str | None = None
    gateway: str = "http://127.0.0.1:8080"
    backend: str = "feedback"
    others: dict[str, Credentials] = field(default_factory=dict)
    """Credentials of the backends besides ``backend`` (whose are ``token`` and ``secret``)."""
    received: int = 0
    """Distinct deliveries (idempotency keys)."""
    duplicates: int = 0
    """Deliveries whose key was seen before: absorbed, same case number."""
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    backend_of: dict[str, str] = field(default_factory=dict)
    """Case number → the backend it came in for, where its status reports go."""

    def credentials(self, backend: str) -> Credentials:
        if backend == self.backend:
            return Credentials(self.token, self.secret)
        return self.others.get(backend, Credentials())


STATE = web.AppKey("demo_state", DemoState)

BILLS: dict[str, dict[str, Any]] = {
    "991234567890": {
        "control_number": "991234567890",
        "payer": {"name": "Asha Juma Mwinyi"},
        "description": "Leseni ya biashara 2027",
        "amount": 150000,
        "currency": "TZS",
        "expires": "2027-03-31",
    },
    "991234567891": {
        "control_number": "991234567891",
        "payer": {"name": "Baraka Hamisi"},
        "description": "Ada ya hati ya kusafiria",
        "amount": 50000,
        "currency": "TZS",
        "expires": "2027-01-15",
    },
}
"""The bills the demo knows, for the README's bill check; any other number is not found."""


async def bill(request: web.Request) -> web.Response:
    found = BILLS.get(request.match_info["number"])
    if found is None:
        return web.json_response({"error": "no such control number"}, status=404)
    return web.json_response(found)


def _verified(credentials: Credentials, request: web.Request, body: bytes) -> bool:
    if credentials.token:
        expected = f"Bearer {credentials.token}".encode()
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
            return False
    if credentials.secret:
        expected = ("sha256=" + sign(credentials.secret, body)).encode()
        if not hmac.compare_digest(request.headers.get("X-Signature", "").encode(), expected):
            return False
    return True


async def accept(request: web.Request) -> web.Response:
    state = request.app[STATE]
    backend = request.match_info.get("backend") or state.backend
    body = await request.read()
    if not _verified(state.credentials(backend), request, body):
        return web.json_response({"error": "bad token or signature"}, status=401)
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        return web.json_response({"error": "Idempotency-Key header is required"}, status=400)
    try:
        document = json.loads(body)
    except ValueError:
        return web.json_response({"error": "body is not JSON"}, status=400)
    if key in state.by_key:
        state.duplicates += 1
        case = state.by_key[key]
        return web.json_response({"case_number": case, "duplicate": True}, status=200)
    state.received += 1
    case = f"CASE-{state.received:06d}"
    state.by_key[key] = case
    state.backend_of[case] = backend
    reference = document.get("reference", key) if isinstance(document, dict) else key
    state.cases[case] = {"case_number": case, "reference": reference, "status": "received"}
    log.info("case %s for %s", case, reference)
    return web.json_response({"case_number": case}, status=201)


async def stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response(
        {"received": state.received, "duplicates": state.duplicates, "cases": len(state.cases)}
    )


async def cases(request: web.Request) -> web.Response:
    return web.json_response(list(request.app[STATE].cases.values()))


async def report_status(request: web.Request) -> web.Response:
    """Tell the gateway what became of a case (as a real intake system would)."""
    state = request.app[STATE]
    case = state.cases.get(request.match_info["case"])
    if case is None:
        return web.json_response({"error": "no such case"}, status=404)
    try:
        update = await request.json()
    except ValueError:
        return web.json_response({"error": "body is not JSON"}, status=400)
    if not isinstance(update, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    report = {
        "reference": case["reference"],
        "status": update.get("status"),
        "note": update.get("note"),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    body = json.dumps(report).encode()
    backend = state.backend_of.get(case["case_number"], state.backend)
    credentials = state.credentials(backend)
    headers = {"Content-Type": "application/json"}
    if credentials.token:
        headers["Authorization"] = f"Bearer {credentials.token}"
    if credentials.secret:
        headers["X-Signature"] = "sha256=" + sign(credentials.secret, body)
    url = f"{state.gateway.rstrip('/')}/backends/{backend}/status"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client,
            client.post(url, data=body, headers=headers) as reply,
        ):
            answer = await reply.text()
            status = reply.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return web.json_response({"error": f"gateway unreachable: {exc}"}, status=502)
    if status == 200:
        case["status"] = update.get("status")
    return web.json_response({"gateway_status": status, "gateway_reply": answer}, status=status)


def create_demo_backend(
    *,
    token: str | None = None,
    secret: str | None = None,
    gateway: str = "http://127.0.0.1:8080",
    backend: str = "feedback",
    others: dict[str, Credentials] | None = None,
) -> web.Application:
    app = web.Application()
    app[STATE] = DemoState(
        token=token, secret=secret, gateway=gateway, backend=backend, others=dict(others or {})
    )
    for name in dict.fromkeys((*PATHS, backend)):
        app.router.add_post(f"/{{backend:{name}}}", accept)
    app.router.add_post("/", accept)
    app.router.add_get("/bills/{number}", bill)
    app.router.add_get("/stats", stats)
    app.router.add_get("/cases", cases)
    app.router.add_post("/cases/{case}/status", report_status)
    return app
