"""Reloading menus in the web application: SIGHUP and the watcher at start-up, and operators'
endpoints ``POST /admin/reload`` and ``GET /admin/menus``.

Both need ``Authorization: Bearer $ADMIN_TOKEN``: the guard's admin middleware checks every
``/admin/…`` path before these handlers run (``ussd_gateway.guard.admin``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.application.menus.reloading import Reloader
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.keys import GATEWAY

RELOADER = web.AppKey("reloader", Reloader)


async def reload_menus(request: web.Request) -> web.Response:
    """Re-read and validate every menu; 200 with versions when published, 422 with problems."""
    result = await request.app[RELOADER].reload("admin")
    return web.json_response(result.as_json(), status=200 if result.ok else 422)


async def menu_versions(request: web.Request) -> web.Response:
    """The version each service serves and the older versions still held for live sessions."""
    return web.json_response({"ok": True, "services": request.app[RELOADER].menus.versions()})


def setup_admin_routes(app: web.Application) -> None:
    app.router.add_post("/admin/reload", reload_menus)
    app.router.add_get("/admin/menus", menu_versions)


def setup_reloading(app: web.Application, settings: Settings, menus: MenuRegistry) -> Reloader:
    """Hook reloading into the app: SIGHUP and the watcher at start-up, the admin endpoints."""
    reloader = Reloader(settings, menus, settings.reload)
    app[RELOADER] = reloader

    async def reloading(app: web.Application) -> AsyncIterator[None]:
        async with reloader.running(app[GATEWAY].redis):
            yield

    app.cleanup_ctx.append(reloading)
    setup_admin_routes(app)
    return reloader


def enable_watching(app: web.Application) -> None:
    """``serve --reload``: watch the menu files of an app not started yet."""
    app[RELOADER].watching = True
