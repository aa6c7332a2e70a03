"""Africa's Talking USSD: form-encoded POST in, ``CON …``/``END …`` text/plain out.

Form fields ``sessionId, serviceCode, phoneNumber, networkCode, text`` (cumulative, ``*``-joined,
empty on the first hop); a 4xx or a reply without ``CON``/``END`` ends the session. Africa's
Talking's own documentation page could not be retrieved here; the format is the one the project's
design notes took from it and is corroborated by third-party write-ups of it (e.g. the AT-USSD.md
notes in github.com/DanNduati/at-ussd).

The end-of-session notification (``POST /ussd/africastalking/events``) is a separate form post
with ``sessionId, serviceCode, phoneNumber, networkCode, date, status, cost, durationInMillis,
hopsCount, input, lastAppResponse, errorMessage``; ``status`` is ``Incomplete`` (dropped while the
citizen still had to answer), ``Success`` (reached its end) or ``Failed`` (our answer was an error).
Not confirmed from Africa's Talking's own pages: the field list and the three statuses come from
third-party code (a TypeScript typing of the callback) and a third-party API write-up; unknown
statuses are treated as dropped (the journey stays resumable).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from aiohttp import web

from ussd_gateway.domain.ussd import BadRequest, SessionEnd, UssdReply, UssdRequest
from ussd_gateway.http.providers.fields import phone_number, read_body

NAME = "africastalking"
MAX_BODY = 8 * 1024
FIELD_LIMITS = {"sessionId": 128, "serviceCode": 40, "phoneNumber": 20, "networkCode": 16}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters other than tab, newline and carriage return: refused in any field."""


async def read_request(request: web.Request) -> UssdRequest:
    """Parse and validate the form; anything odd is a BadRequest with a one-line reason."""
    content_type = request.content_type
    if content_type not in ("application/x-www-form-urlencoded", "application/octet-stream", ""):
        raise BadRequest("expected a form-encoded body (application/x-www-form-urlencoded)")
    return parse_form(await read_body(request, MAX_BODY))


def parse_form(body: bytes) -> UssdRequest:
    form = decode_form(body)
    phone = phone_number(form_field(form, "phoneNumber", required=True), "phoneNumber")
    return UssdRequest(
        provider=NAME,
        session_id=form_field(form, "sessionId", required=True),
        service_code=form_field(form, "serviceCode", required=True),
        phone=phone,
        network=form_field(form, "networkCode", required=False),
        text=form_field(form, "text", required=False),
        cumulative=True,
    )


def decode_form(body: bytes) -> dict[str, list[str]]:
    """``parse_qs(..., keep_blank_values=True, errors="strict")``, at a third of its cost.

    Same result (``tests/providers/test_form_decoding.py`` checks it against ``parse_qs``):
    pairs split on ``&`` only, empty pairs skipped, a name without ``=`` has an empty value,
    ``+`` and ``%xx`` decoded as UTF-8. Values without either (most of them) are not unquoted.
    """
    form: dict[str, list[str]] = {}
    try:
        for pair in body.decode("utf-8").split("&"):
            if not pair:
                continue
            name, _, value = pair.partition("=")
            if "%" in name or "+" in name:
                name = _unquote_plus(name)
            if "%" in value or "+" in value:
                value = _unquote_plus(value)
            if name in form:
                form[name].append(value)
            else:
                form[name] = [value]
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not valid UTF-8") from exc
    return form


_HEX = "0123456789abcdefABCDEF"
_ASCII_ESCAPES = {a + b: chr(int(a + b, 16)) for a in _HEX for b in _HEX if int(a + b, 16) < 128}
"""``2A`` -> ``*``, in either case: every ``%xx`` escape of an ASCII character."""


def _unquote_plus(value: str) -> str:
    """``unquote_plus(value, errors="strict")``; a third of its cost when every escape is ASCII.

    The fields aggregators escape (``%2A152%2A00%23``, ``%2B255…``) are; anything else (UTF-8
    bytes, a malformed escape) is left to the standard library, so the result is always its.
    """
    value = value.replace("+", " ")
    parts = value.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        char = _ASCII_ESCAPES.get(part[:2])
        if char is None:
            return unquote(value, errors="strict")
        out.append(char)
        out.append(part[2:])
    return "".join(out)


def form_field(form: dict[str, list[str]], name: str, *, required: bool) -> str:
    values = form.get(name) or [""]
    value = values[0].strip() if name != "text" else values[0]
    if required and not value:
        raise BadRequest(f"missing or empty {name}")
    limit = FIELD_LIMITS.get(name)
    if limit and len(value) > limit:
        raise BadRequest(f"{name} longer than {limit} characters")
    if CONTROL.search(value):
        raise BadRequest(f"{name} contains control characters")
    return value


STATUSES = {"incomplete": True, "failed": True, "success": False}
"""End-of-session status -> dropped (the journey stays resumable)."""


async def read_notification(request: web.Request) -> SessionEnd:
    """The end-of-session notification: which session ended and why."""
    form = decode_form(await read_body(request, MAX_BODY))
    status = form_field(form, "status", required=True)
    if len(status) > 40:
        raise BadRequest("status longer than 40 characters")
    error = form_field(form, "errorMessage", required=False)[:200]
    reason = status if not error else f"{status}: {error}"
    return SessionEnd(
        provider=NAME,
        session_id=form_field(form, "sessionId", required=True),
        reason=" ".join(reason.split()),
        dropped=STATUSES.get(status.lower(), True),
        phone=form_field(form, "phoneNumber", required=False).replace(" ", ""),
        network=form_field(form, "networkCode", required=False),
    )


def render(reply: UssdReply, request: UssdRequest | None = None) -> web.Response:
    """``CON`` keeps the session open, ``END`` closes it; no leading spaces, never empty."""
    prefix = "END" if reply.end else "CON"
    text = reply.text.strip() or "..."
    return web.Response(text=f"{prefix} {text}", content_type="text/plain", charset="utf-8")


def acknowledge(end: SessionEnd) -> web.Response:
    """Notifications want a 200; the body is not read."""
    return web.Response(text="", content_type="text/plain")
