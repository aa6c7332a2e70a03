"""Beem Africa (Tanzania) USSD hub: JSON in, JSON out, newest entry only.

Request ``{command: initiate|continue|terminate, msisdn, operator, session_id,
payload: {request_id, response}}``; reply with the same ``msisdn``, ``operator`` and
``session_id``, ``command: continue|terminate`` and ``payload: {request_id, request: <screen>}``.

Confirmed from published documentation: nothing. Beem's USSD page (docs.beem.africa, USSD hub)
could not be retrieved; every detail below comes from third-party code that integrates with it
(a Django view and a Flask callback written against Beem's hub) and must be checked against the
hub before going live:
- the field names above, ``operator`` values such as ``vodacom``, ``tigo``, ``airtel``,
  ``halotel``, ``ttcl``, ``msisdn`` as ``255…`` without ``+``;
- ``session_id`` and ``request_id`` may arrive as numbers; ``response`` is only the newest entry
  and may be a number too (``0`` on initiate);
- the request carries no service code: the dialled code is taken from ``response`` on initiate
  when it looks like a dial string (``*152*00*1#``), else from the ``beem.service_code`` setting,
  else the first configured short code;
- whether ``request_id`` is echoed back from our reply, counted by the hub or constant: we reply
  with the received id plus one; a request repeating the last id *and* its entry is a retry; a
  hub seen repeating its id with a new entry is taken to send a constant id, and then the same
  entry twice in a row is two entries (``application/hops/policy.is_repeat``);
- what the hub expects in answer to ``terminate`` (we answer ``terminate`` with an empty screen),
  and whether ``terminate`` means a timeout or the citizen cancelling (we keep the journey
  resumable, since it cannot be told apart).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.config.beem import BeemSettings
from ussd_gateway.config.settings import Settings
from ussd_gateway.domain.ussd import BadRequest, SessionEnd, UssdReply, UssdRequest
from ussd_gateway.http.providers.fields import DIAL, phone_number, read_json, text_field

NAME = "beem"
COMMANDS = {"initiate", "continue", "terminate"}


def settings_for(settings: Settings) -> BeemSettings:
    """``beem:`` with its default filled in: the first configured short code."""
    if settings.beem.service_code.strip() or not settings.service_codes:
        return BeemSettings(settings.beem.service_code.strip())
    return BeemSettings(next(iter(settings.service_codes)))


SETTINGS_KEY = web.AppKey("beem_settings", BeemSettings)
"""Read once at start-up by ``providers.configure``, not on every request."""


async def read_request(request: web.Request) -> UssdRequest | SessionEnd:
    data = await read_json(request)
    return parse(data, request.app[SETTINGS_KEY])


def parse(data: Mapping[str, Any], settings: BeemSettings) -> UssdRequest | SessionEnd:
    command = text_field(data, "command", required=True, limit=20).lower()
    if command not in COMMANDS:
        raise BadRequest("command must be initiate, continue or terminate")
    session_id = text_field(data, "session_id", required=True, limit=128)
    network = text_field(data, "operator", required=False, limit=32)
    payload = data.get("payload")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise BadRequest("payload must be an object")
    request_id = text_field(payload, "request_id", required=False, limit=20)
    if command == "terminate":
        msisdn = text_field(data, "msisdn", required=False, limit=20)
        return SessionEnd(
            provider=NAME,
            session_id=session_id,
            reason="terminate",
            dropped=True,
            phone=phone_number(msisdn, "msisdn") if msisdn else "",
            network=network,
            marker=request_id,
        )
    phone = phone_number(text_field(data, "msisdn", required=True, limit=20), "msisdn")
    response = text_field(payload, "response", required=False, limit=1000, strip=False)
    code = settings.service_code
    text = response
    if command == "initiate":
        dialled = response.strip()
        code = dialled if DIAL.fullmatch(dialled) else code
        text = ""
    if not code:
        raise BadRequest("no service code configured for beem")
    return UssdRequest(
        provider=NAME,
        session_id=session_id,
        service_code=code,
        phone=phone,
        network=network,
        text=text,
        cumulative=False,
        start=command == "initiate",
        marker=request_id,
    )


def next_request_id(marker: str) -> int | str:
    return int(marker) + 1 if marker.isascii() and marker.isdigit() else marker or 1


def render(reply: UssdReply, request: UssdRequest | None = None) -> web.Response:
    return web.json_response(
        {
            "msisdn": request.phone.lstrip("+") if request else "",
            "operator": request.network if request else "",
            "session_id": request.session_id if request else "",
            "command": "terminate" if reply.end else "continue",
            "payload": {
                "request_id": next_request_id(request.marker if request else ""),
                "request": reply.text.strip() or "...",
            },
        }
    )


def acknowledge(end: SessionEnd) -> web.Response:
    return web.json_response(
        {
            "msisdn": end.phone.lstrip("+"),
            "operator": end.network,
            "session_id": end.session_id,
            "command": "terminate",
            "payload": {"request_id": next_request_id(end.marker), "request": ""},
        }
    )
