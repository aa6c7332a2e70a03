"""``GET /metrics``: this process's (or all processes') metrics and figures read from SQL."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from ussd_gateway.adapters.observe.database import DatabaseFigures
from ussd_gateway.adapters.observe.events import EventRecorder, events_engine
from ussd_gateway.adapters.observe.metrics import CONTENT_TYPE, exposition
from ussd_gateway.adapters.redis.client import topology
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.keys import DATABASE, DEFINITIONS, GATEWAY, SETTINGS

EVENTS = web.AppKey("session_events", EventRecorder)
FIGURES = web.AppKey("database_figures", DatabaseFigures)
FIGURES_REGISTRY = web.AppKey("database_figures_registry", CollectorRegistry)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition: process (or all processes') metrics and database figures."""
    figures = request.app.get(FIGURES)
    if figures is not None:
        await figures.refresh()
    body = exposition(request.app.get(FIGURES_REGISTRY))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def menus_loaded(app: web.Application) -> None:
    """Readiness: at least one service is loaded (menus are checked before serving)."""
    if not app[DEFINITIONS]:
        raise LookupError("no menus loaded")


def redis_topology(app: web.Application) -> dict[str, object]:
    """What ``REDIS_URL`` names (no password): one server, Sentinel or a cluster; the
    in-process store when it is unset."""
    url = app[SETTINGS].redis_url
    if not url:
        return {"kind": "memory"}
    return topology(url).describe()


def setup_observability(app: web.Application, settings: Settings) -> None:
    """Add ``/metrics``, read at start once the gateway hook has opened the database; the
    session events and the hop observer are the gateway's (``application.factory``)."""
    config = settings.observability

    async def observe(app: web.Application) -> None:
        if app[GATEWAY].events is not None:
            app[EVENTS] = app[GATEWAY].events
        figures = DatabaseFigures(
            events_engine(app[DATABASE]),
            ttl=settings.sessions.ttl,
            cache_seconds=config.metrics_cache,
        )
        registry = CollectorRegistry(auto_describe=False)
        registry.register(figures)
        app[FIGURES] = figures
        app[FIGURES_REGISTRY] = registry

    app.on_startup.append(observe)
    app.router.add_get("/metrics", metrics)
