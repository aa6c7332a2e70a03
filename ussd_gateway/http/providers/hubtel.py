"""Hubtel (Ghana) USSD / Programmable Services: JSON in, JSON out, newest entry only.

Confirmed from Hubtel's published documentation ("API Reference - Prog Services",
developers.hubtel.com/docs/api-reference-prog-services, and the sample interaction at
hubtel.readme.io/reference/sample-general-services-interaction):
- a JSON POST per hop with ``Type``, ``Message``, ``ServiceCode`` (the table spells it
  ``serviceCode``), ``Operator``, ``ClientState``, ``Mobile`` (``233…``, no ``+``), ``SessionId``
  and, in the sample, ``Sequence`` (``"1"`` on the first request);
- ``Type`` ``initiation`` opens the session, ``response`` carries the citizen's answer,
  ``release`` means the citizen ended it; on a USSD initiation ``Message`` is the dial string
  itself (so ``*152*00*1#`` arrives there, with ``1`` already typed);
- ``Message`` is only what the citizen typed on this screen (newest entry, not cumulative).

Not confirmed from published docs (third-party client code and the older USSD API only):
- ``Type`` ``Timeout`` (the older API and public clients list Initiation/Response/Release/
  Timeout; the current page lists no timeout); both spellings are matched case-insensitively;
- the reply shape: we answer ``{SessionId, Type: Response|Release, Message, Label, ClientState,
  DataType: input|display, FieldType: "text"}``, the union of the older
  ``{Type, Message, ClientState}`` and the Programmable Services fields; the exact casing Hubtel
  requires for ``Type`` in replies;
- that ``Sequence`` increases per hop and is repeated on a retry (a request repeating the last
  ``Sequence`` and its entry is a retry; without it, or with a constant one, a retry is processed
  as a new entry: ``application/hops/policy.is_repeat``);
- what Hubtel expects in answer to a release/timeout notice (we send a ``Release`` with no text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.domain.ussd import BadRequest, SessionEnd, UssdReply, UssdRequest
from ussd_gateway.http.providers.fields import DIAL, one_line, phone_number, read_json, text_field

NAME = "hubtel"
TYPES = {"initiation", "response", "release", "timeout"}


async def read_request(request: web.Request) -> UssdRequest | SessionEnd:
    return parse(await read_json(request))


def parse(raw: Mapping[str, Any]) -> UssdRequest | SessionEnd:
    """Field names are matched case-insensitively: Hubtel's own pages spell them both ways."""
    data = {str(k).lower(): v for k, v in raw.items()}
    kind = text_field(data, "type", required=True, limit=20).lower()
    if kind not in TYPES:
        raise BadRequest("Type must be Initiation, Response, Release or Timeout")
    session_id = text_field(data, "sessionid", required=True, limit=128)
    sequence = text_field(data, "sequence", required=False, limit=12)
    network = text_field(data, "operator", required=False, limit=32)
    if kind in ("release", "timeout"):
        mobile = text_field(data, "mobile", required=False, limit=20)
        return SessionEnd(
            provider=NAME,
            session_id=session_id,
            reason=kind,
            dropped=kind == "timeout",
            phone=phone_number(mobile, "Mobile") if mobile else "",
            network=network,
            marker=sequence,
        )
    phone = phone_number(text_field(data, "mobile", required=True, limit=20), "Mobile")
    message = text_field(data, "message", required=False, limit=1000, strip=False)
    code = text_field(data, "servicecode", required=kind == "initiation", limit=40)
    text = message
    if kind == "initiation":
        # the dial string is the first "message"; it names the code, extension included
        dialled = message.strip()
        code = dialled if DIAL.fullmatch(dialled) else code
        text = ""
    if not code:
        raise BadRequest("missing or empty ServiceCode")
    return UssdRequest(
        provider=NAME,
        session_id=session_id,
        service_code=code if code.startswith("*") else f"*{code.rstrip('#')}#",
        phone=phone,
        network=network,
        text=text,
        cumulative=False,
        start=kind == "initiation",
        marker=sequence,
    )


def render(reply: UssdReply, request: UssdRequest | None = None) -> web.Response:
    text = reply.text.strip() or "..."
    return web.json_response(
        {
            "SessionId": request.session_id if request else "",
            "Type": "Release" if reply.end else "Response",
            "Message": text,
            "Label": one_line(text),
            "ClientState": "",
            "DataType": "display" if reply.end else "input",
            "FieldType": "text",
        }
    )


def acknowledge(end: SessionEnd) -> web.Response:
    return web.json_response(
        {"SessionId": end.session_id, "Type": "Release", "Message": "", "ClientState": ""}
    )
