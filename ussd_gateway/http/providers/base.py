"""The HTTP side of a malformed aggregator request: the 400 every adapter answers with."""

from __future__ import annotations

from aiohttp import web

from ussd_gateway.domain.ussd import BadRequest


def bad_request(exc: BadRequest) -> web.Response:
    """The 400 for a malformed request: its reason on one short line, whoever caught it."""
    reason = " ".join(str(exc).split())[:200]
    return web.Response(status=400, text=f"bad request: {reason}\n", content_type="text/plain")
