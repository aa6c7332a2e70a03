"""Our own JSON format, for in-house telco integrations and tests (documented in docs/providers.md).

Request ``{session_id, phone, service_code, text, mode, event, network, sequence, reason}``:
``mode`` ``cumulative`` (default: ``text`` is every entry joined with ``*``) or ``latest``
(``text`` is only the newest entry); ``event`` ``start``, ``continue`` (default) or ``end``;
``sequence`` identifies a hop in ``latest`` mode so a retry is recognised; on ``end``, ``reason``
says why (``timeout``, ``dropped``, ``error`` keep the journey resumable; ``cancelled`` and
``completed`` do not). Reply ``{session_id, action: continue|end, text}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.domain.ussd import BadRequest, SessionEnd, UssdReply, UssdRequest
from ussd_gateway.http.providers.fields import phone_number, read_json, text_field

NAME = "generic"
MODES = {"cumulative", "latest"}
EVENTS = {"start", "continue", "end"}
DROPPED = {"timeout": True, "dropped": True, "error": True, "cancelled": False, "completed": False}


async def read_request(request: web.Request) -> UssdRequest | SessionEnd:
    return parse(await read_json(request))


def parse(data: Mapping[str, Any]) -> UssdRequest | SessionEnd:
    event = text_field(data, "event", required=False, limit=20).lower() or "continue"
    if event not in EVENTS:
        raise BadRequest("event must be start, continue or end")
    mode = text_field(data, "mode", required=False, limit=20).lower() or "cumulative"
    if mode not in MODES:
        raise BadRequest("mode must be cumulative or latest")
    session_id = text_field(data, "session_id", required=True, limit=128)
    network = text_field(data, "network", required=False, limit=32)
    sequence = text_field(data, "sequence", required=False, limit=20)
    if event == "end":
        reason = text_field(data, "reason", required=False, limit=20).lower() or "timeout"
        if reason not in DROPPED:
            raise BadRequest("reason must be timeout, dropped, error, cancelled or completed")
        phone = text_field(data, "phone", required=False, limit=20)
        return SessionEnd(
            provider=NAME,
            session_id=session_id,
            reason=reason,
            dropped=DROPPED[reason],
            phone=phone_number(phone, "phone") if phone else "",
            network=network,
            marker=sequence,
        )
    return UssdRequest(
        provider=NAME,
        session_id=session_id,
        service_code=text_field(data, "service_code", required=True, limit=40),
        phone=phone_number(text_field(data, "phone", required=True, limit=20), "phone"),
        network=network,
        text=text_field(data, "text", required=False, limit=4000, strip=False),
        cumulative=mode == "cumulative",
        start=event == "start",
        marker=sequence,
    )


def render(reply: UssdReply, request: UssdRequest | None = None) -> web.Response:
    return web.json_response(
        {
            "session_id": request.session_id if request else "",
            "action": "end" if reply.end else "continue",
            "text": reply.text.strip() or "...",
        }
    )


def acknowledge(end: SessionEnd) -> web.Response:
    return web.json_response({"session_id": end.session_id, "action": "end", "text": ""})
