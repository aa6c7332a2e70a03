"""Arkesel (Ghana) USSD: JSON in, JSON out, newest entry only.

Request ``{sessionID, userID, newSession, msisdn, userData, network}``: ``newSession`` is true
on the first request, whose ``userData`` is the dial string (``*152*00*1#``, extension
included); after it ``userData`` is only what the citizen typed last. Reply
``{message, continueSession, userID, msisdn, sessionID}``, echoing the request's ids.

Confirmed from published documentation: nothing; Arkesel's USSD page (arkesel.com) could not be
retrieved here. The fields above are those ``ussd-builder`` 1.3.2 (npm, ``lib/ussd-menu.js``)
reads and writes for its ``arkesel`` provider, and the project's design notes list the same
(from public client code). Not confirmed, so assumed:
- the dialled code is sent only in the first ``userData``: later hops name none, so they use
  the callback URL's ``?code=`` (``/ussd/arkesel?code=152*00``) or the first configured code;
- ``newSession`` is a JSON boolean (the strings ``"true"``/``"false"`` are accepted too, and
  an absent one is false, as ussd-builder reads it);
- there is no hop id: a retried request cannot be told from the citizen typing the same entry
  again, and is taken as a new entry; a retried first request gets the same screen;
- there is no end-of-session notice: a dropped journey is offered back on the next dial (the
  resume window) as for any other aggregator whose notice never came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.domain.ussd import SessionEnd, UssdReply, UssdRequest
from ussd_gateway.http.providers.fields import (
    configured_code,
    dialled_or,
    echo,
    echoed,
    flag,
    phone_number,
    read_json,
    text_field,
)

NAME = "arkesel"


async def read_request(request: web.Request) -> UssdRequest:
    return parse(await read_json(request), configured_code(request))


def parse(data: Mapping[str, Any], code: str) -> UssdRequest:
    session_id = text_field(data, "sessionID", required=True, limit=128)
    msisdn = text_field(data, "msisdn", required=True, limit=20)
    phone = phone_number(msisdn, "msisdn")
    new = flag(data, "newSession")
    user_id = text_field(data, "userID", required=False, limit=64)
    user_data = text_field(data, "userData", required=False, limit=1000, strip=False)
    network = text_field(data, "network", required=False, limit=32)
    return UssdRequest(
        provider=NAME,
        session_id=session_id,
        service_code=dialled_or(user_data if new else "", code),
        phone=phone,
        network=network,
        text="" if new else user_data,
        cumulative=False,
        start=new,
        echo=echo(userID=user_id, msisdn=msisdn, sessionID=session_id),
    )


def render(reply: UssdReply, request: UssdRequest | None = None) -> web.Response:
    ids = echoed(request)
    return web.json_response(
        {
            "message": reply.text.strip() or "...",
            "continueSession": not reply.end,
            "userID": ids.get("userID", ""),
            "msisdn": ids.get("msisdn", ""),
            "sessionID": ids.get("sessionID", ""),
        }
    )


def acknowledge(end: SessionEnd) -> web.Response:
    """Arkesel sends no end notice; the registry wants an answer for one all the same."""
    return web.json_response({"message": "", "continueSession": False, "sessionID": end.session_id})
