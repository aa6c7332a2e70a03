"""Nalo Solutions (Ghana) USSD: JSON in, JSON out, newest entry only, and no session id.

Request ``{USERID, MSISDN, USERDATA, MSGTYPE, NETWORK}``: ``MSGTYPE`` true opens a session and
its ``USERDATA`` is the dial string (``*152*00*1#``, extension included); after it ``MSGTYPE``
is false and ``USERDATA`` is what the citizen typed last. Reply ``{MSG, MSGTYPE, USERID,
MSISDN}``: ``MSGTYPE`` true keeps the session open, false ends it; ``USERID`` and ``MSISDN`` are
echoed.

Nalo names no session, so one is derived: a count of the number's dials kept in the session
store (so every web process agrees), one more on each ``MSGTYPE: true``; the session id is the
number's hash (never the number: ids appear in keys and logs) and that count. A new dial thus
always opens a new session instead of landing on the last one's final screen. Reading the count
costs each Nalo hop one store trip more than other aggregators' (three instead of two on
Redis). When a request does carry a ``SESSIONID`` (a third-party client library says Nalo's
documentation lists one), it is used as given.

Confirmed from published documentation: nothing; Nalo's USSD API document is not public. The
fields above are those ``ussd-builder`` 1.3.2 (npm, ``lib/ussd-menu.js``) reads and writes for
its ``nalo`` provider (which keys its sessions on the number alone); the third-party Python
client ``nunyakata`` (github.com/SeveighTech/nunyakata, ``NALO_USSD_IMPLEMENTATION.md``, which
says it follows Nalo's document) lists the same fields, ``MSISDN`` as ``233…``, ``NETWORK``
values ``MTN``, ``VODAFONE``, ``AIRTELTIGO``, an optional ``SESSIONID``, and a 120-character
limit on ``MSG`` (not enforced here: the menus' own screen limit applies). Not confirmed:
- the dialled code is sent only in the first ``USERDATA``: later hops use the callback URL's
  ``?code=`` (``/ussd/nalo?code=152*00``) or the first configured code;
- ``MSGTYPE`` as a JSON boolean (the strings ``"true"``/``"false"`` are accepted too, and an
  absent one is false, as ussd-builder reads it);
- there is no hop id and no end notice: a retried entry is taken as a new entry, a retried
  dial opens one more session (the citizen sees the first screen either way), and a dropped
  journey is offered back on the next dial within the resume window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.adapters.sessions.base import KeyBuilder
from ussd_gateway.domain.ussd import SessionEnd, UssdReply, UssdRequest
from ussd_gateway.http.keys import SESSIONS
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
from ussd_gateway.ports.sessions import StoreUnavailable

NAME = "nalo"


async def read_request(request: web.Request) -> UssdRequest:
    hop = parse(await read_json(request), configured_code(request))
    if echoed(hop).get("derived"):
        try:
            dials = await request.app[SESSIONS].dials(NAME, hop.phone, new=hop.start)
        except StoreUnavailable:
            dials = 0  # the hop meets the same store next and answers "unavailable" politely
        hop = dataclasses.replace(hop, session_id=session_id(hop.phone, dials))
    return hop


def session_id(phone: str, dials: int) -> str:
    """The id of a number's ``dials``-th session."""
    return f"{KeyBuilder.phone_id(phone)}-{dials}"


def parse(data: Mapping[str, Any], code: str) -> UssdRequest:
    """The request, with the session id of the number's first dial unless Nalo sent one;
    ``read_request`` puts in the id of the current dial."""
    user_id = text_field(data, "USERID", required=True, limit=64)
    msisdn = text_field(data, "MSISDN", required=True, limit=20)
    phone = phone_number(msisdn, "MSISDN")
    new = flag(data, "MSGTYPE")
    user_data = text_field(data, "USERDATA", required=False, limit=1000, strip=False)
    network = text_field(data, "NETWORK", required=False, limit=32)
    given = text_field(data, "SESSIONID", required=False, limit=128)
    return UssdRequest(
        provider=NAME,
        session_id=given or session_id(phone, 1),
        service_code=dialled_or(user_data if new else "", code),
        phone=phone,
        network=network,
        text="" if new else user_data,
        cumulative=False,
        start=new,
        echo=echo(USERID=user_id, MSISDN=msisdn, derived=not given),
    )


def render(reply: UssdReply, request: UssdRequest | None = None) -> web.Response:
    ids = echoed(request)
    return web.json_response(
        {
            "MSG": reply.text.strip() or "...",
            "MSGTYPE": not reply.end,
            "USERID": ids.get("USERID", ""),
            "MSISDN": ids.get("MSISDN", ""),
        }
    )


def acknowledge(end: SessionEnd) -> web.Response:
    """Nalo sends no end notice; the registry wants an answer for one all the same."""
    return web.json_response({"MSG": "", "MSGTYPE": False})
