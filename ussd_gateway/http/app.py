"""Application factory: routes, and start-up/clean-up hooks that own every connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.migrate import upgrade
from ussd_gateway.adapters.logs import install_record_factory
from ussd_gateway.adapters.sessions import StoreUnavailable, create_store
from ussd_gateway.adapters.submissions.store import SubmissionStore, SubmissionUnavailable
from ussd_gateway.application.menus.reloading import load_registry
from ussd_gateway.config.settings import Settings
from ussd_gateway.engine.runner import Engine
from ussd_gateway.http.forwarding import setup_forwarding
from ussd_gateway.http.gctuning import setup_gc
from ussd_gateway.http.guard import Guard, GuardedHopService
from ussd_gateway.http.keys import DATABASE, DEFINITIONS, HOPS, SETTINGS, SUBMISSIONS
from ussd_gateway.http.menus_admin import setup_reloading
from ussd_gateway.http.observability import setup_observability
from ussd_gateway.http.outbox import setup_outbox
from ussd_gateway.http.providers import configure as configure_providers
from ussd_gateway.http.request_id import request_ids
from ussd_gateway.http.routes import setup_routes
from ussd_gateway.http.simulator import setup_simulator
from ussd_gateway.http.sms.hook import setup_sms

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The gateway cannot start; the message says which dependency and why, on one line."""


def create_app(settings: Settings, *, worker: bool | None = None) -> web.Application:
    """Build the web application; menus are loaded now so a broken menu fails before serving.

    ``worker``: run the outbox workers in-process (None: only on SQLite).
    """
    menus = load_registry(settings)  # every menu validated; old versions kept on reload
    definitions, router = menus.definitions, menus
    guard = Guard.from_settings(settings)
    install_record_factory()
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS] = settings
    configure_providers(app, settings)
    app[DEFINITIONS] = definitions

    async def resources(app: web.Application) -> AsyncIterator[None]:
        store = await create_store(
            settings.redis_url,
            ttl=settings.sessions.ttl,
            resume_window=settings.sessions.resume_window,
            single_trip=settings.sessions.single_trip,
        )
        engine = create_engine(settings.database_url)
        submissions: SubmissionStore | None = None
        try:
            try:
                await upgrade(engine)
            except (OSError, SQLAlchemyError, SubmissionUnavailable) as exc:
                raise StartupError(
                    f"database {engine.url.render_as_string(hide_password=True)} "
                    f"unusable: {type(exc).__name__}: {exc}".splitlines()[0]
                ) from exc
            try:
                await store.ping()
            except StoreUnavailable as exc:
                # keep serving: hops end politely and /readyz says 503 until Redis is back
                log.warning("session store not answering at start: %s", exc)
            app[DATABASE] = engine
            submissions = SubmissionStore(sessionmaker=create_sessionmaker(engine))
            app[SUBMISSIONS] = submissions
            app[HOPS] = GuardedHopService(
                guard=guard,
                engine=Engine(
                    ports=submissions,
                    lookup_timeout=settings.lookup_timeout,
                    submit_timeout=settings.submit_timeout,
                ),
                store=store,
                router=router,
                settings=settings,
            )
            log.info(
                "serving %s on codes %s (sessions: %s)",
                ", ".join(sorted(definitions)),
                ", ".join(sorted(router.codes)),
                "redis" if settings.redis_url else "in-process",
            )
            yield
        finally:
            await store.close()
            if submissions is not None:
                await submissions.close()
            await engine.dispose()

    app.cleanup_ctx.append(resources)
    setup_forwarding(app, settings)
    # after forwarding: listens to status changes
    setup_sms(app, settings, menus=menus)
    setup_outbox(app, settings, worker=worker)  # runs what the two above configured
    app.middlewares.append(request_ids)
    guard.install(app)  # after resources: late hops finish before the stores close
    setup_observability(app, settings)
    setup_simulator(app, settings)
    setup_reloading(app, settings, menus)
    setup_routes(app)
    setup_gc(app)
    return app
