"""Reloading menus in the web application: SIGHUP and the watcher at start-up, and operators'
endpoints ``POST /admin/reload`` and ``GET /admin/menus``.

Both need ``Authorization: Bearer $ADMIN_TOKEN``, or an operator's token for its own services:
the guard's admin middleware checks every ``/admin/…`` path before these handlers run
(``ussd_gateway.http.guard.admin``). Reloads are written to the audit log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.application.menus.reloading import Reloader
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.guard.admin import OPERATOR, refused, scoped
from ussd_gateway.http.keys import GATEWAY, MENUS
from ussd_gateway.http.operators_admin import audit

RELOADER = web.AppKey("reloader", Reloader)


@scoped
async def reload_menus(request: web.Request) -> web.Response:
    """Re-read and validate every menu; 200 with versions when published, 422 with problems.

    An operator names its own service (``?service=``): the reload still reads every file (what
    is deployed is published together), but only the owner of a service may ask for it.
    """
    operator = request[OPERATOR]
    service = request.query.get("service") or None
    reason = None
    if service is not None and not operator.owns(request.app[MENUS].definitions.get(service)):
        reason = f"service {service!r} is not one of {operator.name}'s services"
    elif service is None and not operator.admin:
        reason = "an operator token reloads its own service: POST /admin/reload?service=<name>"
    if reason is not None:
        await audit(request, "reload", service or "*", "refused", service=service)
        return refused(reason)
    result = await request.app[RELOADER].reload(operator.name)
    outcome = "ok" if result.ok else "partial" if result.published else "invalid"
    detail = "; ".join(result.problems or result.as_json().get("problems", [])) or None
    await audit(request, "reload", service or "*", outcome, service=service, detail=detail)
    return web.json_response(result.as_json(), status=200 if result.ok else 422)


@scoped
async def menu_versions(request: web.Request) -> web.Response:
    """The version each service serves and the older versions still held for live sessions
    (an operator: its own services)."""
    operator = request[OPERATOR]
    versions = request.app[RELOADER].menus.versions()
    if not operator.admin:
        own = set(operator.services(request.app[MENUS].definitions))
        versions = {name: v for name, v in versions.items() if name in own}
    return web.json_response({"ok": True, "services": versions})


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
