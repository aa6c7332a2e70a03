"""Forwarding inside the web application: the status endpoint and, on SQLite, a worker.

``create_app`` calls :func:`setup_forwarding`; everything it adds is owned by one cleanup
context, started after the database has been migrated and stopped before it is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.engine import make_url

from ussd_gateway.adapters.connectors.registry import check_backends
from ussd_gateway.adapters.db.engine import create_sessionmaker, normalise_url
from ussd_gateway.adapters.outbox.delivery_worker import DeliveryWorker
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.backend_status import FORWARDING, LEDGER, STATUS_LISTENERS, backend_status
from ussd_gateway.http.keys import DATABASE

log = logging.getLogger(__name__)


def is_sqlite(database_url: str) -> bool:
    return make_url(normalise_url(database_url)).get_backend_name() == "sqlite"


def setup_forwarding(app: web.Application, settings: Settings, *, worker: bool | None) -> None:
    """Add the status endpoint and the in-process worker.

    ``worker``: None runs one on SQLite only (the single-command default); True also on
    PostgreSQL (``serve --with-worker``); False never (``serve --no-worker``).
    """
    config = settings.forwarding
    check_backends(config)
    run_worker = is_sqlite(settings.database_url) if worker is None else worker
    app[FORWARDING] = config
    app[STATUS_LISTENERS] = []
    app.router.add_post("/backends/{name}/status", backend_status)

    async def forwarding(app: web.Application) -> AsyncIterator[None]:
        sessionmaker = create_sessionmaker(app[DATABASE])
        app[LEDGER] = DeliveryLedger(sessionmaker)
        task: asyncio.Task[None] | None = None
        delivery: DeliveryWorker | None = None
        try:
            if run_worker and config.backends:
                delivery = DeliveryWorker(config, sessionmaker)
                await delivery.open()
                task = asyncio.create_task(delivery.run(), name="delivery-worker")
                task.add_done_callback(_report_crash)
            yield
        finally:
            if delivery is not None and task is not None:
                delivery.stop()
                await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(forwarding)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("in-process delivery worker stopped: %r", task.exception())
