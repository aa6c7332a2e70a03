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
- ``Message`` is only what the citizen typed on this screen (newest entry, not cumulative);
- ``Type`` ``AddToCart`` ("to process the User to a checkout to pay"): the gateway sells
  nothing, so it is answered with the session's current screen and changes nothing (a new
  session if there is none), never with a 400.

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
- what Hubtel expects in answer to a release/timeout notice (we send a ``Release`` with no text);
- what an ``AddToCart`` request carries besides ``Type`` (we read it like a ``Response`` with
  nothing typed).

Emergent and Cross-Switch speak this format with a few differences; ``Dialect`` holds them and
their modules (``emergent.py``, ``cross_switch.py``) say what their facts rest on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ussd_gateway.domain.ussd import BadRequest, SessionEnd, UssdReply, UssdRequest
from ussd_gateway.http.providers.fields import (
    DIAL,
    looks_like_code,
    one_line,
    phone_number,
    read_json,
    short_code,
    text_field,
)

TYPES = {"initiation", "response", "release", "timeout", "addtocart"}


@dataclass(frozen=True, slots=True)
class Dialect:
    """Hubtel's format as one aggregator speaks it."""

    name: str
    code_fields: tuple[str, ...] = ("servicecode",)
    """Where the dialled code is read (lower case), first that holds one; the initiation's
    dial string comes before all of them."""
    mask_next_route: bool = False
    """Add ``MaskNextRoute: true`` to every reply that keeps the session open."""

    async def read_request(self, request: web.Request) -> UssdRequest | SessionEnd:
        return self.parse(await read_json(request))

    def parse(self, raw: Mapping[str, Any]) -> UssdRequest | SessionEnd:
        """Field names are matched case-insensitively: Hubtel's own pages spell them both ways."""
        data = {str(k).lower(): v for k, v in raw.items()}
        kind = text_field(data, "type", required=True, limit=20).lower()
        if kind not in TYPES:
            raise BadRequest("Type must be Initiation, Response, AddToCart, Release or Timeout")
        session_id = text_field(data, "sessionid", required=True, limit=128)
        sequence = text_field(data, "sequence", required=False, limit=12)
        network = text_field(data, "operator", required=False, limit=32)
        if kind in ("release", "timeout"):
            mobile = text_field(data, "mobile", required=False, limit=20)
            return SessionEnd(
                provider=self.name,
                session_id=session_id,
                reason=kind,
                dropped=kind == "timeout",
                phone=phone_number(mobile, "Mobile") if mobile else "",
                network=network,
                marker=sequence,
            )
        phone = phone_number(text_field(data, "mobile", required=True, limit=20), "Mobile")
        message = text_field(data, "message", required=False, limit=1000, strip=False)
        codes = [text_field(data, name, required=False, limit=40) for name in self.code_fields]
        # the first that looks like a short code; else any (a Hubtel app's service id, which
        # then reaches no menu and gets the "unknown code" screen)
        code = next((c for c in codes if looks_like_code(c)), next(filter(None, codes), ""))
        text = message
        if kind == "initiation":
            # the dial string is the first "message"; it names the code, extension included
            dialled = message.strip()
            code = dialled if DIAL.fullmatch(dialled) else code
            text = ""
        elif kind == "addtocart":
            text = ""  # nothing to buy here: the current screen again, as a repeated start
        if not code:
            raise BadRequest(f"missing or empty {self.code_fields[0]}")
        return UssdRequest(
            provider=self.name,
            session_id=session_id,
            service_code=code if code.startswith("*") else short_code(code),
            phone=phone,
            network=network,
            text=text,
            cumulative=False,
            start=kind in ("initiation", "addtocart"),
            marker=sequence,
        )

    def render(self, reply: UssdReply, request: UssdRequest | None = None) -> web.Response:
        text = reply.text.strip() or "..."
        body: dict[str, Any] = {
            "SessionId": request.session_id if request else "",
            "Type": "Release" if reply.end else "Response",
            "Message": text,
            "Label": one_line(text),
            "ClientState": "",
            "DataType": "display" if reply.end else "input",
            "FieldType": "text",
        }
        if self.mask_next_route and not reply.end:
            body["MaskNextRoute"] = True
        return web.json_response(body)

    def acknowledge(self, end: SessionEnd) -> web.Response:
        return web.json_response(
            {"SessionId": end.session_id, "Type": "Release", "Message": "", "ClientState": ""}
        )


HUBTEL = Dialect("hubtel")
NAME = HUBTEL.name
read_request = HUBTEL.read_request
parse = HUBTEL.parse
render = HUBTEL.render
acknowledge = HUBTEL.acknowledge
