"""Reading and checking aggregator fields, shared by the JSON adapters.

Every check ends in a BadRequest with a one-line reason, so a malformed webhook gets a 400 and
never reaches the engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ussd_gateway.domain.ussd import BadRequest
from ussd_gateway.http import bodies

MAX_BODY = 8 * 1024
PHONE = re.compile(r"\+?[0-9]{6,15}")
DIAL = re.compile(r"\*[0-9*]+#")
"""A dial string such as ``*152*00*1#``: some aggregators send it as the first message."""

CODE = re.compile(r"\*?[0-9]+(\*[0-9]+)*#?")
"""A short code as aggregators write it: ``*152*00#``, ``152*00``, ``*152*00``."""

JSON_TYPES = frozenset(
    {"application/json", "text/json", "text/plain", "application/octet-stream", ""}
)


async def read_body(request: web.Request, max_body: int = MAX_BODY) -> bytes:
    """The body, decoded and capped by the one body reader (http.bodies): an undecodable or
    oversized body is its 4xx, not a BadRequest."""
    return await bodies.read_body(request, max_body)


async def read_json(request: web.Request, max_body: int = MAX_BODY) -> Mapping[str, Any]:
    """A JSON object body; any other shape or encoding is a BadRequest or the body reader's 4xx."""
    if request.content_type not in JSON_TYPES:
        raise BadRequest("expected a JSON body (application/json)")
    data = await bodies.read_json(request, max_body)
    if not isinstance(data, dict):
        raise BadRequest("body is not a JSON object")
    return data


def text_field(
    data: Mapping[str, Any], name: str, *, required: bool, limit: int, strip: bool = True
) -> str:
    """A string (or number) field, checked for length and control characters."""
    raw = data.get(name)
    if raw is None:
        value = ""
    elif isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise BadRequest(f"{name} must be a string")
    else:
        value = str(raw)
    if strip:
        value = value.strip()
    if required and not value:
        raise BadRequest(f"missing or empty {name}")
    if len(value) > limit:
        raise BadRequest(f"{name} longer than {limit} characters")
    if any((ord(c) < 32 and c not in "\r\n\t") or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise BadRequest(f"{name} contains control characters")
    return value


def phone_number(value: str, name: str) -> str:
    """An international number with ``+`` (``255712…`` becomes ``+255712…``); a local ``0…``
    number is kept as given, so one citizen has one identity across aggregators."""
    compact = value.replace(" ", "")
    if not PHONE.fullmatch(compact):
        raise BadRequest(f"{name} is not a phone number")
    if compact.startswith(("+", "0")):
        return compact
    return "+" + compact


def one_line(value: str, limit: int = 60) -> str:
    """A short single-line summary of a screen, for fields such as Hubtel's ``Label``."""
    first = value.strip().splitlines()[0] if value.strip() else ""
    return first[:limit]


def flag(data: Mapping[str, Any], name: str) -> bool:
    """A true/false field: JSON ``true``/``false``, or the words as strings; absent is false
    (what ussd-builder reads too: only ``true`` opens a session)."""
    raw = data.get(name)
    if raw is None:
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise BadRequest(f"{name} must be true or false")


def short_code(value: str) -> str:
    """``152*00`` or ``*152*00`` as dialled: ``*152*00#``."""
    return f"*{value.strip('*#')}#"


def looks_like_code(value: str) -> bool:
    return bool(CODE.fullmatch(value))


DEFAULT_CODE = web.AppKey("default_code", str)
"""The first configured short code, set once at start-up (``providers.configure``)."""


def configured_code(request: web.Request) -> str:
    """The code of an aggregator that does not say which was dialled (on every hop or after the
    first): the callback URL's ``?code=`` (``?code=152*00``: one URL per short code), else the
    first configured short code ("" when there is none)."""
    given = request.query.get("code", "").strip()
    if not given:
        return request.app.get(DEFAULT_CODE, "")
    if not looks_like_code(given) or len(given) > 40:
        raise BadRequest("code in the URL is not a short code such as 152*00")
    return short_code(given)


def dialled_or(text: str, code: str) -> str:
    """The code a session opens on: the first message when it is a dial string (``*152*00*1#``,
    extension included), else ``code``; a BadRequest when there is neither."""
    dialled = text.strip()
    if DIAL.fullmatch(dialled):
        return dialled
    if not code:
        raise BadRequest("no service code: dial string missing and none configured")
    return code


def echo(**fields: Any) -> str:
    """Fields an adapter wants back in its reply, carried by ``UssdRequest.echo``."""
    return json.dumps(fields, separators=(",", ":"))


def echoed(request: Any) -> dict[str, Any]:
    """What ``echo`` wrote into ``request``'s ``echo`` (nothing for None or a foreign request)."""
    raw = getattr(request, "echo", "") if request is not None else ""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
