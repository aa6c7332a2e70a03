"""South Pawsl (southpawsl.com) USSD: JSON in, JSON out, newest entry only.

Request ``{sessionId, menuId, msisdn, ussdString, inputOption, network, ussdParameters}``:
``ussdString`` is the dialled code, on every request; the first request's ``inputOption`` is
the same string, later ones carry what the citizen typed last. Reply ``{message, state:
CONTINUE|END, menuId, ussdString, option, ussdParameter}``: ``menuId`` and ``ussdString``
echoed, ``option`` the entry being answered (empty on the first screen), ``ussdParameter``
the request's ``ussdParameters`` back.

Confirmed from published documentation: nothing; South Pawsl publishes no USSD API document we
could retrieve. Every field above is as ``ussd-builder`` 1.3.2 (npm, ``lib/ussd-menu.js``)
reads and writes it for its ``southpawsl`` provider. Not confirmed, so assumed:
- ``ussdString``'s spelling (``*152*00#`` or ``152*00``: both are read);
- that ``ussdParameters`` is opaque (it is echoed as received, any JSON value);
- there is no hop id and no end notice: a retried entry is taken as a new entry (a retried
  first request gets the same screen), and a dropped journey is offered back on the next dial
  within the resume window.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.domain.ussd import BadRequest, SessionEnd, UssdReply, UssdRequest
from ussd_gateway.http.providers.fields import (
    DIAL,
    echo,
    echoed,
    looks_like_code,
    phone_number,
    read_json,
    short_code,
    text_field,
)

NAME = "southpawsl"


async def read_request(request: web.Request) -> UssdRequest:
    return parse(await read_json(request))


def parse(data: Mapping[str, Any]) -> UssdRequest:
    session_id = text_field(data, "sessionId", required=True, limit=128)
    msisdn = text_field(data, "msisdn", required=True, limit=20)
    phone = phone_number(msisdn, "msisdn")
    ussd_string = text_field(data, "ussdString", required=True, limit=40)
    if not looks_like_code(ussd_string):
        raise BadRequest("ussdString is not a short code such as *152*00#")
    option = text_field(data, "inputOption", required=False, limit=1000, strip=False)
    menu_id = text_field(data, "menuId", required=False, limit=64)
    network = text_field(data, "network", required=False, limit=32)
    code = ussd_string if DIAL.fullmatch(ussd_string) else short_code(ussd_string)
    parameters = data.get("ussdParameters")
    if len(json.dumps(parameters)) > 1000:
        raise BadRequest("ussdParameters longer than 1000 characters")
    typed = option.strip()
    # the first request repeats the code: as written, or spelled the other way (152*00 / *152*00#)
    spelled = "*" in typed or typed.endswith("#")  # a bare "1" is an entry, even for *1#
    new = typed == ussd_string or (spelled and looks_like_code(typed) and short_code(typed) == code)
    return UssdRequest(
        provider=NAME,
        session_id=session_id,
        service_code=code,
        phone=phone,
        network=network,
        text="" if new else option,
        cumulative=False,
        start=new,
        echo=echo(menuId=menu_id, ussdString=ussd_string, ussdParameter=parameters),
    )


def render(reply: UssdReply, request: UssdRequest | None = None) -> web.Response:
    sent = echoed(request)
    return web.json_response(
        {
            "message": reply.text.strip() or "...",
            "state": "END" if reply.end else "CONTINUE",
            "menuId": sent.get("menuId", ""),
            "ussdString": sent.get("ussdString", ""),
            "option": request.text if request else "",
            "ussdParameter": sent.get("ussdParameter"),
        }
    )


def acknowledge(end: SessionEnd) -> web.Response:
    """South Pawsl sends no end notice; the registry wants an answer for one all the same."""
    return web.json_response({"message": "", "state": "END"})
