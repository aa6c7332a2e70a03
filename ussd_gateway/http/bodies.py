"""Reading request bodies: the one way every route reads what a caller sent.

aiohttp's own readers raise exceptions no handler expects when a body cannot be decoded (a gzip
``Content-Encoding`` on plain bytes, multipart where a form was expected, invalid UTF-8, JSON
nested thousands deep): each became a 500 with a traceback, so anyone could flood the logs. Here
each is a 4xx with a one-line reason and one log line; a genuine bug elsewhere still gives a 500
with its traceback, logged once by aiohttp.

``create_app`` turns aiohttp's automatic decompression off so ``Content-Encoding`` is decoded
here, where the *decoded* size is capped too: a few kilobytes of gzip can expand to gigabytes.
gzip and deflate are decoded; a body that does not decode is a 400; any other coding a 415 that
says which ones we take (``Accept-Encoding``, RFC 7694).
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import hdrs, web
from aiohttp.http import HttpProcessingError

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
"""Default cap, encoded and decoded; webhooks pass their own, smaller one."""
MAX_DEPTH = 20
"""Deepest JSON nesting accepted: real payloads nest two or three levels."""
MAX_FIELDS = 100
"""Most fields in a form: a callback has about a dozen."""
ACCEPTED_ENCODINGS = "gzip, deflate"
MAX_CODINGS = 2
"""Codings applied one over another: each is decoded in turn, so their number is capped."""
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "application/octet-stream", ""})
"""What a form callback may be labelled: aggregators do not always set a content type."""

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_BRACKETS = re.compile(rb"[\[\]{}]")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


REFUSALS: dict[int, type[web.HTTPClientError]] = {
    400: web.HTTPBadRequest,
    415: web.HTTPUnsupportedMediaType,
}
"""Raised, not returned: an ``HTTPException`` passes through a handler's ``except BadRequest``
and aiohttp answers it as it is, without a traceback."""


def refuse(
    request: web.Request, reason: str, *, status: int = 400, headers: dict[str, str] | None = None
) -> web.HTTPClientError:
    """The refusal with its one-line reason, logged once; the route is logged by its pattern,
    so no secret path token reaches the log."""
    resource = request.match_info.route.resource
    where = resource.canonical if resource is not None else "?"
    log.warning("refused %s %s body: %s (%d)", request.method, where, reason, status)
    return REFUSALS[status](text=f"bad request: {reason}\n", headers=headers)


async def read_raw(request: web.Request, max_body: int = MAX_BODY) -> bytes:
    """The bytes as sent, refusing anything larger than ``max_body`` before reading it all."""
    length = request.content_length
    if length is not None and length > max_body:
        raise refuse(request, f"body larger than {max_body} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await request.content.read(max_body + 1 - size):
            # read() returns what has arrived so far: a body split over packets needs several
            chunks.append(chunk)
            size += len(chunk)
            if size > max_body:
                raise refuse(request, f"body larger than {max_body} bytes")
            if size == length:  # aiohttp ends a sized body at its length: no read for its end
                break
    except (web.RequestPayloadError, HttpProcessingError) as exc:
        raise refuse(request, "body could not be read (broken transfer encoding)") from exc
    return b"".join(chunks)


async def read_body(request: web.Request, max_body: int = MAX_BODY) -> bytes:
    """The body with its ``Content-Encoding`` undone, at most ``max_body`` bytes either way."""
    body = await read_raw(request, max_body)
    header = request.headers.get(hdrs.CONTENT_ENCODING, "")
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    if len(codings) > MAX_CODINGS:
        raise refuse(request, f"more than {MAX_CODINGS} content codings", status=415)
    for coding in reversed(codings):  # listed in the order they were applied
        if not body:  # nothing to decode: some clients label an empty body too
            break
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip"):
            body = _inflate(request, body, _GZIP_WBITS, "gzip", max_body)
        elif coding == "deflate":
            body = _inflate(request, body, _deflate_wbits(body), "deflate", max_body)
        else:
            raise refuse(
                request,
                f"Content-Encoding {coding[:20]!r} is not supported ({ACCEPTED_ENCODINGS})",
                status=415,
                headers={hdrs.ACCEPT_ENCODING: ACCEPTED_ENCODINGS},
            )
    return body


def _deflate_wbits(body: bytes) -> int:
    """``deflate`` should be zlib-wrapped (RFC 9110); some clients send the raw stream."""
    zlib_header = len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
    return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS


def _inflate(request: web.Request, data: bytes, wbits: int, name: str, limit: int) -> bytes:
    """Decompress every member (gzip allows several), never producing more than ``limit``."""
    out: list[bytes] = []
    size = 0
    try:
        while True:
            decoder = zlib.decompressobj(wbits)
            chunk = decoder.decompress(data, limit + 1 - size)
            size += len(chunk)
            if size > limit or decoder.unconsumed_tail:
                raise refuse(request, f"body larger than {limit} bytes once decoded")
            out.append(chunk)
            if not decoder.eof:
                raise refuse(request, f"body is not valid {name} (truncated)")
            data = decoder.unused_data
            if not data or wbits != _GZIP_WBITS:
                break
    except zlib.error as exc:
        raise refuse(request, f"body is not valid {name}") from exc
    return b"".join(out)


async def read_text(request: web.Request, max_body: int = MAX_BODY) -> str:
    """The body as UTF-8 text (the only charset our callers use)."""
    return _utf8(request, await read_body(request, max_body))


def _utf8(request: web.Request, body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(request, "body is not valid UTF-8") from exc


async def read_json(
    request: web.Request, max_body: int = MAX_BODY, max_depth: int = MAX_DEPTH
) -> Any:
    """Any JSON value (callers check its shape)."""
    body = await read_body(request, max_body)
    try:
        return load_json(body, max_depth)
    except BadJson as exc:
        raise refuse(request, str(exc)) from exc


class BadJson(ValueError):
    """Why a body is not JSON we read, in one line."""


NOT_JSON = "body is not valid JSON"


def load_json(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """UTF-8 JSON, or BadJson. Nesting deeper than ``max_depth`` is refused before parsing:
    the parser's own recursion limit fails far deeper, far slower, and as a RecursionError."""
    if too_deep(body, max_depth):
        raise BadJson(f"JSON nested deeper than {max_depth} levels")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJson("body is not valid UTF-8") from exc
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadJson(NOT_JSON) from exc


def too_deep(body: bytes, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than ``max_depth``; cheap when few."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b"", body)):
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


async def read_form(request: web.Request, max_body: int = MAX_BODY) -> dict[str, str]:
    """A url-encoded form's fields, the first value of each; multipart and others are 415s."""
    if request.content_type not in FORM_TYPES:
        raise refuse(
            request,
            "expected a form-encoded body (application/x-www-form-urlencoded)",
            status=415,
        )
    text = await read_text(request, max_body)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError as exc:
        raise refuse(request, "a form field is not valid UTF-8") from exc
    except ValueError as exc:  # more than MAX_FIELDS
        raise refuse(request, f"more than {MAX_FIELDS} form fields") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in value or "\x00" in name:  # no database stores it; no caller means it
            raise refuse(request, "a form field contains a NUL character")
        form.setdefault(name, value)
    return form
