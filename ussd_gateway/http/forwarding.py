"""Forwarding inside the web application: the status endpoint backends report to.

``create_app`` calls :func:`setup_forwarding`; the ledger it adds is made once the database
has been migrated. The worker is ``http.outbox``'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ussd_gateway.adapters.connectors.govesb_inbound import push_verifiers
from ussd_gateway.adapters.connectors.registry import check_backends
from ussd_gateway.adapters.db.engine import create_sessionmaker
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.backend_status import (
    CLOCK,
    FORWARDING,
    GOVESB_PUSHES,
    LEDGER,
    STATUS_LISTENERS,
    backend_status,
)
from ussd_gateway.http.keys import DATABASE
from ussd_gateway.ports.clock import SYSTEM_CLOCK, Clock


def setup_forwarding(
    app: web.Application, settings: Settings, *, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Check the backends' configuration and add the status endpoint (``clock``: what a
    report's timestamp is checked against)."""
    config = settings.forwarding
    check_backends(config)
    app[FORWARDING] = config
    app[GOVESB_PUSHES] = push_verifiers(config)
    app[CLOCK] = clock
    app[STATUS_LISTENERS] = []
    app.router.add_post("/backends/{name}/status", backend_status)

    async def forwarding(app: web.Application) -> AsyncIterator[None]:
        app[LEDGER] = DeliveryLedger(create_sessionmaker(app[DATABASE]))
        yield

    app.cleanup_ctx.append(forwarding)
