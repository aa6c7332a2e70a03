"""Hooks observability into the application: the hop observer, the event writer, ``/metrics``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from ussd_gateway.adapters.db.engine import create_sessionmaker
from ussd_gateway.adapters.observe.database import DatabaseFigures
from ussd_gateway.adapters.observe.events import EventRecorder, EventSettings, events_engine
from ussd_gateway.adapters.observe.metrics import CONTENT_TYPE, exposition
from ussd_gateway.adapters.observe.observer import GatewayObserver
from ussd_gateway.config.settings import ConfigError, Settings
from ussd_gateway.http.keys import DATABASE, DEFINITIONS, HOPS


@dataclass(frozen=True, slots=True)
class ObservabilitySettings:
    """The ``observability:`` section of config/gateway.yaml."""

    events: EventSettings = field(default_factory=EventSettings)
    metrics_cache: float = 5.0
    """Seconds the figures read from the database are reused between scrapes."""

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> ObservabilitySettings:
        events = section.get("session_events") or {}
        if not isinstance(events, Mapping):
            raise ConfigError("observability.session_events must be a mapping")
        try:
            return cls(
                events=EventSettings(
                    enabled=bool(events.get("enabled", True)),
                    flush_interval=float(events.get("flush_interval", 1.0)),
                    batch_size=max(1, int(events.get("batch_size", 200))),
                    queue_size=max(1, int(events.get("queue_size", 10_000))),
                ),
                metrics_cache=float(section.get("metrics_cache", 5.0)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"observability: {exc}") from exc


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
    config = ObservabilitySettings.from_section(settings.section("observability"))

    async def observe(app: web.Application) -> AsyncIterator[None]:
        engine = events_engine(app[DATABASE])
        recorder: EventRecorder | None = None
        if config.events.enabled:
            recorder = EventRecorder(create_sessionmaker(engine), config.events)
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
