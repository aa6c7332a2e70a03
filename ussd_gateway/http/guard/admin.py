"""Admin endpoints (every ``/admin/…`` path) need ``Authorization: Bearer $ADMIN_TOKEN``.

The middleware covers every admin route whoever registers it. Without ``ADMIN_TOKEN`` admin
endpoints are closed to everyone (403), never open.
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from ussd_gateway.http.guard.auth import same

log = logging.getLogger(__name__)

PREFIX = "/admin"


def is_admin_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def admin_refusal(request: web.Request, token: str | None) -> web.Response | None:
    """None when the bearer token is right; a bare 403 (admin disabled) or 401 otherwise."""
    if not token:
        return web.Response(status=403)
    scheme, _, given = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    if scheme.lower() != "bearer" or not same(given.strip(), token):
        return web.Response(status=401, headers={hdrs.WWW_AUTHENTICATE: "Bearer"})
    return None


def admin_middleware(token: str | None) -> web.Middleware:
    @web.middleware
    async def guard_admin(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_admin_path(request.path):
            refused = admin_refusal(request, token)
            if refused is not None:
                log.warning("refused admin request: %d", refused.status)
                return refused
        return await handler(request)

    return guard_admin
