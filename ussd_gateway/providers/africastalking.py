"""Africa's Talking USSD: form-encoded POST in, ``CON …``/``END …`` text/plain out."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from aiohttp import web

from ussd_gateway.providers.base import BadRequest, UssdReply, UssdRequest

NAME = "africastalking"
MAX_BODY = 8 * 1024
FIELD_LIMITS = {"sessionId": 128, "serviceCode": 40, "phoneNumber": 20, "networkCode": 16}
PHONE = re.compile(r"\+?[0-9]{6,15}")


async def read_request(request: web.Request) -> UssdRequest:
    """Parse and validate the form; anything odd is a BadRequest with a one-line reason."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BadRequest(f"body larger than {MAX_BODY} bytes")
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise BadRequest(f"body larger than {MAX_BODY} bytes")
    content_type = request.content_type
    if content_type not in ("application/x-www-form-urlencoded", "application/octet-stream", ""):
        raise BadRequest("expected a form-encoded body (application/x-www-form-urlencoded)")
    return parse_form(body)


def parse_form(body: bytes) -> UssdRequest:
    try:
        decoded = body.decode("utf-8")
        form = parse_qs(decoded, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not valid UTF-8") from exc
    except ValueError as exc:
        raise BadRequest(f"body is not a valid form: {exc}") from exc

    def field(name: str, *, required: bool) -> str:
        values = form.get(name) or [""]
        value = values[0].strip() if name != "text" else values[0]
        if required and not value:
            raise BadRequest(f"missing or empty {name}")
        limit = FIELD_LIMITS.get(name)
        if limit and len(value) > limit:
            raise BadRequest(f"{name} longer than {limit} characters")
        if any(ord(c) < 32 and c not in "\r\n\t" for c in value):
            raise BadRequest(f"{name} contains control characters")
        return value

    phone = field("phoneNumber", required=True)
    if not PHONE.fullmatch(phone.replace(" ", "")):
        raise BadRequest("phoneNumber is not a phone number")
    return UssdRequest(
        provider=NAME,
        session_id=field("sessionId", required=True),
        service_code=field("serviceCode", required=True),
        phone=phone.replace(" ", ""),
        network=field("networkCode", required=False),
        text=field("text", required=False),
        cumulative=True,
    )


def render(reply: UssdReply) -> web.Response:
    """``CON`` keeps the session open, ``END`` closes it; no leading spaces, never empty."""
    prefix = "END" if reply.end else "CON"
    text = reply.text.strip() or "..."
    return web.Response(text=f"{prefix} {text}", content_type="text/plain", charset="utf-8")
