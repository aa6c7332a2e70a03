"""Operators' endpoints for menus: ``POST /admin/reload`` and ``GET /admin/menus``.

Both need ``Authorization: Bearer $ADMIN_TOKEN``. Without ``ADMIN_TOKEN`` admin is disabled
(403, saying so); a missing or wrong token gets 401.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from ussd_gateway.appkeys import SETTINGS
from ussd_gateway.reloading import RELOADER


def admin_refusal(request: web.Request) -> web.Response | None:
    """None when the request carries the admin token; otherwise the answer to give."""
    token = request.app[SETTINGS].env.get("ADMIN_TOKEN") or ""
    if not token:
        return web.json_response(
            {"ok": False, "error": "admin is disabled: set ADMIN_TOKEN to enable it"}, status=403
        )
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        return web.json_response(
            {"ok": False, "error": "missing or wrong token: send Authorization: Bearer <token>"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="ussd-gateway admin"'},
        )
    return None


async def reload_menus(request: web.Request) -> web.Response:
    """Re-read and validate every menu; 200 with versions when published, 422 with problems."""
    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    result = await request.app[RELOADER].reload("admin")
    return web.json_response(result.as_json(), status=200 if result.ok else 422)


async def menu_versions(request: web.Request) -> web.Response:
    """The version each service serves and the older versions still held for live sessions."""
    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    return web.json_response({"ok": True, "services": request.app[RELOADER].menus.versions()})


def setup_admin_routes(app: web.Application) -> None:
    app.router.add_post("/admin/reload", reload_menus)
    app.router.add_get("/admin/menus", menu_versions)
