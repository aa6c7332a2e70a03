"""Application factory: routes, and the start-up/clean-up hook that owns every connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from ussd_gateway.adapters.logs import install_record_factory
from ussd_gateway.application.factory import open_gateway
from ussd_gateway.application.menus.reloading import load_registry
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.forwarding import setup_forwarding
from ussd_gateway.http.gctuning import setup_gc
from ussd_gateway.http.guard import install_guard
from ussd_gateway.http.keys import (
    DATABASE,
    DEFINITIONS,
    GATEWAY,
    HOPS,
    MENUS,
    SESSIONS,
    SETTINGS,
    SUBMISSIONS,
)
from ussd_gateway.http.menus_admin import setup_reloading
from ussd_gateway.http.nudges import setup_nudges
from ussd_gateway.http.observability import setup_observability
from ussd_gateway.http.operators_admin import setup_operators
from ussd_gateway.http.outbox import setup_outbox
from ussd_gateway.http.protocol_errors import quiet_client_protocol_errors
from ussd_gateway.http.providers import configure as configure_providers
from ussd_gateway.http.request_id import request_ids
from ussd_gateway.http.routes import setup_routes
from ussd_gateway.http.simulator import setup_simulator
from ussd_gateway.http.sms.hook import setup_sms
from ussd_gateway.ports.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, worker: bool | None = None, clock: Clock = SYSTEM_CLOCK
) -> web.Application:
    """Build the web application; menus are loaded now so a broken menu fails before serving.

    ``worker``: run the outbox workers in-process (None: only on SQLite). ``clock``: what the
    menus' retention, in-process expiries and rate-limit windows read (tests move it).
    """
    menus = load_registry(settings, clock)  # every menu validated; old versions kept on reload
    install_record_factory()
    quiet_client_protocol_errors()
    # bodies are decoded by http.bodies, which caps their decoded size and refuses bad ones
    app = web.Application(client_max_size=64 * 1024, handler_args={"auto_decompress": False})
    app[SETTINGS] = settings
    app[MENUS] = menus
    app[DEFINITIONS] = menus.definitions
    configure_providers(app, settings)

    async def gateway(app: web.Application) -> AsyncIterator[None]:
        async with open_gateway(settings, menus, clock=clock) as opened:
            app[GATEWAY] = opened
            app[DATABASE] = opened.database
            app[SESSIONS] = opened.store
            app[SUBMISSIONS] = opened.submissions
            app[HOPS] = opened.hops
            yield

    app.cleanup_ctx.append(gateway)  # first in: the other hooks' clean-up runs before it
    setup_forwarding(app, settings, clock=clock)
    # after forwarding: listens to status changes
    setup_sms(app, settings, menus=menus)
    setup_outbox(app, settings, worker=worker)  # runs what the two above configured
    setup_nudges(app, settings, clock=clock)  # queues into the SMS outbox
    app.middlewares.append(request_ids)
    install_guard(app, settings.guard)
    setup_observability(app, settings)
    setup_simulator(app, settings)
    setup_reloading(app, settings, menus)
    setup_operators(app)
    setup_routes(app)
    setup_gc(app)
    return app
