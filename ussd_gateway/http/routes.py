"""HTTP endpoints: the aggregator webhook and the load balancer's probes."""

from __future__ import annotations

import logging
import time
from functools import partial

from aiohttp import web

from ussd_gateway.http.keys import SESSIONS, SUBMISSIONS
from ussd_gateway.http.observability import menus_loaded, redis_topology
from ussd_gateway.http.webhooks import setup_webhooks

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 only when the session store and the database answer and menus are loaded; says
    which Redis topology the sessions live on and whether its primary answered."""
    checks: dict[str, dict[str, object]] = {}
    ok = True
    for name, probe in (
        ("sessions", request.app[SESSIONS].ping),
        ("database", request.app[SUBMISSIONS].ping),
        ("menus", partial(menus_loaded, request.app)),
    ):
        started = time.perf_counter()
        try:
            await probe()
            checks[name] = {"ok": True}
        except Exception as exc:
            ok = False
            checks[name] = {"ok": False, "error": type(exc).__name__}
        checks[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    topology = {**redis_topology(request.app), "primary_reachable": checks["sessions"]["ok"]}
    return web.json_response(
        {"ready": ok, "checks": checks, "topology": topology}, status=200 if ok else 503
    )


def setup_routes(app: web.Application) -> None:
    setup_webhooks(app)  # POST /ussd/{provider}[/{token}], /ussd/africastalking/events
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


__all__ = ["setup_routes"]
