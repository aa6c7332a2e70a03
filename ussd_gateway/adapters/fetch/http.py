"""One question to a ``type: http`` backend, built so a citizen's entry cannot redirect it.

Scheme, host and port come from the backend's ``url`` only. Request fields named in ``path``
(``/{control_number}``) become single, fully encoded path segments (``/``, ``.``, ``%``, ``?``,
``#``, ``@`` and CR/LF included); the others go in the query string (GET, DELETE) or the JSON
body. The reply is read up to a size cap and parsed only if it is not nested too deeply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from ussd_gateway.adapters.connectors.http import HttpConfig, auth_headers
from ussd_gateway.config.fetch import FetchSettings
from ussd_gateway.domain.fetch import Answer, FetchResult

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NOT_FOUND = frozenset({404, 410})
SYSTEM_TROUBLE = frozenset({408, 425, 429})
"""4xx statuses that say the system is struggling (they count against its circuit)."""


class EmptySegment(ValueError):
    """A path field rendered empty: ``/bills/`` may be another resource (a list of every bill),
    so nothing is asked and the answer is "not found"."""


class BadReply(Exception):
    """The backend answered, but not with something the gateway reads."""


def segment(value: str) -> str:
    """``value`` as exactly one path segment: every reserved character encoded, dots too (a
    ``..`` segment would otherwise climb out of the configured path)."""
    return quote(value, safe="").replace(".", "%2E")


def build_url(base: str, path: str, fields: Mapping[str, str]) -> tuple[URL, dict[str, str]]:
    """The request's URL, and the fields left over for the query string or body."""
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        used.add(name)
        value = str(fields.get(name, ""))
        if not value:
            raise EmptySegment(name)
        return segment(value)

    rendered = _PLACEHOLDER.sub(fill, path)
    url = URL(base.rstrip("/") + rendered if path else base, encoded=True)
    configured = URL(base)
    if (url.scheme, url.host, url.port) != (configured.scheme, configured.host, configured.port):
        # placeholders are encoded, so this cannot happen: a guard against a future mistake
        raise ValueError("a request tried to leave the configured host")
    return url, {k: v for k, v in fields.items() if k not in used}


def depth(text: str) -> int:
    """How deeply ``text``'s JSON nests (strings skipped), without parsing it."""
    deepest = level = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def parse_reply(body: bytes, settings: FetchSettings) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadReply("reply is not UTF-8") from exc
    if depth(text) > settings.max_depth:
        raise BadReply(f"reply nested deeper than {settings.max_depth}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadReply("reply is not JSON") from exc


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > limit:
        raise BadReply(f"reply of {declared} bytes is over {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > limit:
            raise BadReply(f"reply over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class HttpQuestion:
    """How to ask one ``http`` backend."""

    config: HttpConfig
    settings: FetchSettings

    async def ask(
        self, client: aiohttp.ClientSession, fields: Mapping[str, str], seconds: float
    ) -> tuple[FetchResult, bool]:
        """The answer, and whether it says the system itself is in trouble (for its circuit)."""
        config = self.config
        try:
            url, rest = build_url(str(config.url), config.path or "", fields)
        except EmptySegment as exc:
            return FetchResult(Answer.NOT_FOUND, reason=f"empty path field {exc}"), False
        method = config.method
        body = b""
        params: dict[str, str] | None = None
        if method in ("GET", "DELETE"):
            params = rest or None
        else:
            body = json.dumps(rest, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {**auth_headers(config, body), "Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        async with client.request(
            method,
            url,
            params=params,
            data=body or None,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=seconds),
            allow_redirects=False,
        ) as response:
            status = response.status
            if status in NOT_FOUND:
                return FetchResult(Answer.NOT_FOUND, reason=f"HTTP {status}"), False
            if not 200 <= status < 300:
                trouble = status >= 500 or status in SYSTEM_TROUBLE
                return FetchResult(Answer.UNAVAILABLE, reason=f"HTTP {status}"), trouble
            try:
                document = parse_reply(
                    await read_capped(response, self.settings.max_reply_bytes), self.settings
                )
            except BadReply as exc:
                return FetchResult(Answer.UNAVAILABLE, reason=str(exc)), True
            return FetchResult(Answer.FOUND, document), False
