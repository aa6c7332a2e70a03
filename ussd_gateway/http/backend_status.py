"""``POST /backends/{name}/status``: a backend reports what became of a submission it holds.

Authenticated with that backend's token (``Authorization: Bearer …``) or an HMAC-SHA256 of the
exact body in its signature header (``X-Signature: sha256=<hex>`` by default). Body::

    {"reference": "ZCFG7HU3", "status": "resolved", "note": {"sw": "...", "en": "..."},
     "timestamp": "2026-12-07T16:20:00Z"}

``note`` may also be a plain string. Wrong auth → 401 and nothing changes; unknown reference →
404; a malformed body → 400 with the reason. A signed report must carry a ``timestamp`` within
the backend's ``status_window`` (401 outside it). Statuses only move forward
(``domain.case_status``): a backward move → 409; a repeat of the current status → 200 and
nothing changes. A ``govesb`` backend's reports come through the
bus, signed by it (``adapters/connectors/govesb_inbound``): that signature is their only
credential.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.adapters.connectors.govesb_inbound import PushRefused, PushVerifier
from ussd_gateway.adapters.connectors.http import sign
from ussd_gateway.adapters.db.models import BACKEND_STATUSES
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger
from ussd_gateway.config.backends import BackendConfig, ForwardingConfig
from ussd_gateway.domain.case_status import (
    BadTimestamp,
    MalformedTimestamp,
    RefusedMove,
    report_time,
)
from ussd_gateway.domain.references import normalise
from ussd_gateway.domain.submissions import StatusChange, StatusListener
from ussd_gateway.http.bodies import NOT_JSON, BadJson, load_json, read_body
from ussd_gateway.ports.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

MAX_NOTE = 300


FORWARDING = web.AppKey("forwarding", ForwardingConfig)
LEDGER = web.AppKey("delivery_ledger", DeliveryLedger)
GOVESB_PUSHES = web.AppKey("govesb_pushes", Mapping[str, PushVerifier])
"""Per govesb backend, how to verify (and open) what the bus pushes."""
STATUS_LISTENERS = web.AppKey("status_listeners", list[StatusListener])
"""Called after every status change. The SMS issue appends its "tell the citizen" here."""
CLOCK = web.AppKey("status_clock", Clock)
"""What a report's timestamp is checked against."""


async def on_status_change(app: web.Application, change: StatusChange) -> None:
    """Hook for an SMS to the citizen on a status change (wired by the SMS work, not here).

    Listeners run after the change is committed; one failing never undoes it nor hides it.
    """
    for listener in app.get(STATUS_LISTENERS, []):
        try:
            await listener(change)
        except Exception:
            log.exception("status listener failed for %s", change.reference)


def signed(backend: BackendConfig, request: web.Request) -> bool:
    """The report carries the backend's body signature: it must then carry a timestamp too."""
    header = str(backend.options.get("signature_header", "X-Signature"))
    return bool(backend.secret and request.headers.get(header))


def authenticated(backend: BackendConfig, request: web.Request, body: bytes) -> bool:
    token, secret = backend.token, backend.secret
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    if secret:
        header = str(backend.options.get("signature_header", "X-Signature"))
        prefix = str(backend.options.get("signature_prefix", "sha256="))
        signature = request.headers.get(header, "")
        if hmac.compare_digest(signature.encode(), (prefix + sign(secret, body)).encode()):
            return True
    return False


class BadStatus(ValueError):
    pass


def parse_report(body: bytes) -> tuple[str, str, str | None, dict[str, str] | None, Any]:
    """(reference, status, plain note, per-language notes, timestamp as sent) from a report,
    or BadStatus."""
    try:
        document: Any = load_json(body)
    except BadJson as exc:  # this endpoint's own words for plain bad JSON
        raise BadStatus("body is not JSON" if str(exc) == NOT_JSON else str(exc)) from exc
    if not isinstance(document, Mapping):
        raise BadStatus("body must be a JSON object")
    reference = document.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        raise BadStatus("reference is missing")
    status = document.get("status")
    if status not in BACKEND_STATUSES:
        raise BadStatus(f"status must be one of {', '.join(BACKEND_STATUSES)}")
    note, timestamp = document.get("note"), document.get("timestamp")
    if note is None or note == "":
        return reference, status, None, None, timestamp
    if isinstance(note, str):
        if len(note) > MAX_NOTE:
            raise BadStatus(f"note is longer than {MAX_NOTE} characters")
        return reference, status, note.strip(), None, timestamp
    if isinstance(note, Mapping) and note:
        notes: dict[str, str] = {}
        for language, text in note.items():
            if not isinstance(text, str) or len(text) > MAX_NOTE or len(str(language)) > 16:
                raise BadStatus(f"note.{language} must be a string of at most {MAX_NOTE} chars")
            notes[str(language)] = text.strip()
        return reference, status, next(iter(notes.values())), notes, timestamp
    raise BadStatus("note must be a string or a mapping of language to string")


async def backend_status(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    backend = request.app[FORWARDING].backend(name)
    if backend is None:
        return _reply(404, f"no backend named {name!r}")
    body = await read_body(request)
    verifier = request.app.get(GOVESB_PUSHES, {}).get(name)
    if verifier is not None:
        try:
            body = await verifier.report(body)
        except PushRefused as exc:
            return _reply(exc.status, str(exc))
    elif not authenticated(backend, request, body):
        return _reply(401, "missing or wrong token or signature")
    try:
        reference, status, note, notes, timestamp = parse_report(body)
    except BadStatus as exc:
        return _reply(400, str(exc))
    now = request.app.get(CLOCK, SYSTEM_CLOCK).time()
    try:
        reported_at = report_time(
            timestamp, signed=signed(backend, request), now=now, window=backend.status_window
        )
    except MalformedTimestamp as exc:
        return _reply(400, str(exc))
    except BadTimestamp as exc:
        return _reply(401, str(exc))
    try:
        taken = await request.app[LEDGER].set_backend_status(
            backend=name,
            reference=reference,
            status=status,
            note=note,
            notes=notes,
            reported_at=reported_at,
        )
    except RefusedMove as exc:
        log.info("%s: refused %s → %s (backend %s): %s", reference, exc.current, status, name, exc)
        return web.json_response(
            {"error": str(exc), "current": exc.current, "attempted": exc.attempted}, status=409
        )
    if taken is None:
        return _reply(404, f"no submission {reference!r} for backend {name!r}")
    previous, status = taken.previous, taken.status
    answer = {"reference": normalise(reference), "status": status, "previous": previous}
    if not taken.changed:  # a repeat: nothing changed, nobody is told again
        return web.json_response({**answer, "changed": False})
    change = StatusChange(name, normalise(reference), previous, status, note, notes, taken.reopened)
    log.info("%s: %s → %s (backend %s)", change.reference, previous, status, name)
    await on_status_change(request.app, change)
    return web.json_response({**answer, "changed": True})


def _reply(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)
