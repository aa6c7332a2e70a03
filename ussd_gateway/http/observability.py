"""Hooks observability into the application: the hop observer, the event writer, ``/metrics``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry

from ussd_gateway.adapters.db.engine import create_sessionmaker
from ussd_gateway.adapters.observe.database import DatabaseFigures
from ussd_gateway.adapters.observe.events import EventRecorder, events_engine
from ussd_gateway.adapters.observe.metrics import CONTENT_TYPE, exposition
from ussd_gateway.adapters.observe.observer import GatewayObserver
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.keys import DATABASE, DEFINITIONS, HOPS

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


def setup_observability(app: web.Application, settings: Settings) -> None:
    """Add ``/metrics`` and a clean-up context that runs after the one creating the hops."""
    config = settings.observability

    async def observe(app: web.Application) -> AsyncIterator[None]:
        engine = events_engine(app[DATABASE])
        recorder: EventRecorder | None = None
        if config.session_events.enabled:
            recorder = EventRecorder(create_sessionmaker(engine), config.session_events)
            app[EVENTS] = recorder
            recorder.start()
        figures = DatabaseFigures(
            engine, ttl=settings.sessions.ttl, cache_seconds=config.metrics_cache
        )
        registry = CollectorRegistry(auto_describe=False)
        registry.register(figures)
        app[FIGURES] = figures
        app[FIGURES_REGISTRY] = registry
        app[HOPS].observer = GatewayObserver(recorder)
        try:
            yield
        finally:
            if recorder is not None:
                await recorder.stop()

    app.cleanup_ctx.append(observe)
    app.router.add_get("/metrics", metrics)
