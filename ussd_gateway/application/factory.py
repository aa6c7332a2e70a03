"""One place builds the hop path, for every caller: the web server, ``ussd-gateway test``
journeys, the simulator (through the server) and the benchmarks.

``build_hops`` assembles the hop service from the parts a caller already has.
``open_gateway`` is what a server process runs on: it opens the process's one Redis client and
one database engine, builds every part on them (the guard in front of the hop service), and
closes them in order (late hops first, connections last).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.migrate import upgrade
from ussd_gateway.adapters.fetch import BackendFetcher
from ussd_gateway.adapters.limits import LimitState, MemoryLimitState, RedisLimitState
from ussd_gateway.adapters.mounted_apps import HttpMountedApps
from ussd_gateway.adapters.observe.events import EventRecorder, events_engine
from ussd_gateway.adapters.observe.observer import GatewayObserver
from ussd_gateway.adapters.redis.batcher import Batcher
from ussd_gateway.adapters.redis.client import connect
from ussd_gateway.adapters.sessions import MemorySessionStore, RedisSessionStore
from ussd_gateway.adapters.submissions.store import SubmissionStore, SubmissionUnavailable
from ussd_gateway.application.guard import GuardedHops
from ussd_gateway.application.hops.service import HopService
from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.application.sms.limits import InboundLimits
from ussd_gateway.config.settings import Settings
from ussd_gateway.engine.runner import Engine
from ussd_gateway.engine.screens.fetch import FetchScreen
from ussd_gateway.ports.apps import MountedApps
from ussd_gateway.ports.clock import SYSTEM_CLOCK, Clock
from ussd_gateway.ports.fetch import Fetcher
from ussd_gateway.ports.observer import HopObserver
from ussd_gateway.ports.sessions import SessionStore, StoreUnavailable
from ussd_gateway.ports.submissions import EnginePorts

log = logging.getLogger(__name__)


def warn_unanswerable_fetches(menus: MenuRegistry, fetcher: BackendFetcher) -> None:
    """Say at start which ``fetch`` screens will only ever answer ``unavailable``: a backend
    missing from ``backends:``, or a GoVESB one set up to push rather than pull."""
    for service, definition in sorted(menus.definitions.items()):
        for screen in definition.screens.values():
            if isinstance(screen, FetchScreen) and screen.backend not in fetcher.questions:
                reason = fetcher.problems.get(screen.backend, "not in config backends:")
                log.warning(
                    "%s.%s: backend %s cannot be asked (%s): citizens get 'unavailable'",
                    service,
                    screen.id,
                    screen.backend,
                    reason,
                )


class StartupError(RuntimeError):
    """The gateway cannot start; the message says which dependency and why, on one line."""


def build_hops(
    settings: Settings,
    *,
    menus: MenuRegistry,
    store: SessionStore,
    ports: EnginePorts,
    observer: HopObserver | None = None,
    clock: Clock = SYSTEM_CLOCK,
    apps: MountedApps | None = None,
    fetcher: Fetcher | None = None,
) -> HopService:
    """The hop service on these parts: what servers put the guard in front of (``open_gateway``)
    and journey tests run menus on alone."""
    return HopService(
        engine=Engine(
            ports=ports,
            lookup_timeout=settings.lookup_timeout,
            submit_timeout=settings.submit_timeout,
            fetcher=fetcher,
            fetch_timeout=settings.fetch.deadline(settings.limits.hop_deadline),
        ),
        store=store,
        menus=menus,
        settings=settings,
        observer=observer,
        clock=clock.time,
        apps=apps,
    )


@dataclass(slots=True)
class Gateway:
    """What one server process serves with, open for as long as ``open_gateway`` runs."""

    settings: Settings
    menus: MenuRegistry
    database: AsyncEngine
    redis: aioredis.Redis | None
    """The process's one Redis client (None: sessions and counters in this process)."""
    store: SessionStore
    submissions: SubmissionStore
    events: EventRecorder | None
    service: HopService
    hops: GuardedHops
    """What the webhooks call: the hop service behind the guard."""
    sms_limits: InboundLimits
    """How many inbound SMS a number and a source may send, counted where the hops are."""


async def _migrated(database: AsyncEngine) -> None:
    try:
        await upgrade(database)
    except (OSError, SQLAlchemyError, SubmissionUnavailable) as exc:
        raise StartupError(
            f"database {database.url.render_as_string(hide_password=True)} "
            f"unusable: {type(exc).__name__}: {exc}".splitlines()[0]
        ) from exc


@asynccontextmanager
async def open_gateway(
    settings: Settings, menus: MenuRegistry, *, clock: Clock = SYSTEM_CLOCK
) -> AsyncIterator[Gateway]:
    """Open the connections, build the hop path on them, and close it all in order.

    A database that cannot be migrated stops start-up (``StartupError``); a Redis that does not
    answer does not: hops end politely and ``/readyz`` says 503 until it is back.
    """
    redis = connect(settings.redis_url) if settings.redis_url else None
    batcher = Batcher(redis) if redis is not None else None
    database = create_engine(settings.database_url)
    store: SessionStore | None = None
    submissions: SubmissionStore | None = None
    events: EventRecorder | None = None
    guarded: GuardedHops | None = None
    # institutions' own USSD apps under a directory: one client for all, bounded by the deadline
    apps = HttpMountedApps(hop_deadline=settings.limits.hop_deadline)
    fetcher = BackendFetcher(settings.backends, settings.fetch, clock=clock.monotonic)
    warn_unanswerable_fetches(menus, fetcher)
    try:
        await _migrated(database)
        sessions = settings.sessions
        if redis is not None:
            store = RedisSessionStore(
                client=redis,
                batcher=batcher,
                ttl=sessions.ttl,
                resume_window=sessions.resume_window,
            )
            limits: LimitState = RedisLimitState(client=redis, batcher=batcher)
        else:
            store = MemorySessionStore(
                ttl=sessions.ttl, resume_window=sessions.resume_window, clock=clock.monotonic
            )
            limits = MemoryLimitState(clock=clock.monotonic)
        try:
            await store.ping()
        except StoreUnavailable as exc:
            log.warning("session store not answering at start: %s", exc)
        submissions = SubmissionStore(sessionmaker=create_sessionmaker(database))
        if settings.observability.session_events.enabled:
            events = EventRecorder(
                create_sessionmaker(events_engine(database)),
                settings.observability.session_events,
            )
            events.start()
        service = build_hops(
            settings,
            menus=menus,
            store=store,
            ports=submissions,
            observer=GatewayObserver(events),
            clock=clock,
            apps=apps,
            fetcher=fetcher,
        )
        guarded = GuardedHops(
            service,
            limits=settings.limits,
            state=limits,
            settings=settings,
            language=store.language,
            stall=store.stall,
            forget_stalled=store.forget_stalled,
            clock=clock.time,
        )
        log.info(
            "serving %s on codes %s (sessions: %s)",
            ", ".join(sorted(menus.definitions)),
            ", ".join(sorted(menus.codes)),
            "redis" if redis is not None else "in-process",
        )
        sms_limits = InboundLimits(
            settings.sms.limits, limits, country=settings.country_code, clock=clock.time
        )
        yield Gateway(
            settings,
            menus,
            database,
            redis,
            store,
            submissions,
            events,
            service,
            guarded,
            sms_limits,
        )
    finally:
        if guarded is not None:
            await guarded.drain()  # late hops save their sessions before the stores close
        await apps.close()
        if events is not None:
            await events.stop()
        if submissions is not None:
            await submissions.close()
        if store is not None:
            await store.close()
        await fetcher.close()
        if batcher is not None:
            await batcher.close()
        if redis is not None:
            await redis.aclose()
        await database.dispose()
