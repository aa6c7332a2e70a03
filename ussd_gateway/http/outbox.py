"""The outbox workers inside the web application: ``serve`` delivers and sends by itself on
SQLite (one command, nothing else to run); on PostgreSQL a separate ``ussd-gateway worker`` is
the plan, unless ``serve --with-worker`` asks otherwise.

Call :func:`setup_outbox` after ``setup_forwarding`` and ``setup_sms``: it runs their senders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url

from ussd_gateway.adapters.db.engine import create_sessionmaker, normalise_url
from ussd_gateway.adapters.outbox.senders.delivery import DeliverySender
from ussd_gateway.adapters.outbox.senders.sms import SmsSender
from ussd_gateway.adapters.outbox.worker import Worker
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.backend_status import FORWARDING
from ussd_gateway.http.keys import DATABASE
from ussd_gateway.http.sms.keys import SMS_CONFIG, SMS_WAKE

log = logging.getLogger(__name__)


def is_sqlite(database_url: str) -> bool:
    return make_url(normalise_url(database_url)).get_backend_name() == "sqlite"


def setup_outbox(app: web.Application, settings: Settings, *, worker: bool | None) -> None:
    """Run the outbox workers in-process.

    ``worker``: None runs them on SQLite only (the single-command default); True also on
    PostgreSQL (``serve --with-worker``); False never (``serve --no-worker``). No delivery
    worker runs without a configured backend.
    """
    if not (is_sqlite(settings.database_url) if worker is None else worker):
        return

    async def workers(app: web.Application) -> AsyncIterator[None]:
        sessionmaker = create_sessionmaker(app[DATABASE])
        sms = Worker(SmsSender(app[SMS_CONFIG]), sessionmaker)
        running: list[Worker[Any, Any]] = [sms]
        if app[FORWARDING].backends:
            running.insert(
                0, Worker(DeliverySender(app[FORWARDING], app[SMS_CONFIG]), sessionmaker)
            )
        for worker in running:
            await worker.open()  # a configuration mistake stops start-up
        app[SMS_WAKE] = sms.wake
        tasks = [_start(worker) for worker in running]
        try:
            yield
        finally:
            for worker in running:
                worker.stop()
            await asyncio.gather(*tasks, return_exceptions=True)

    app.cleanup_ctx.append(workers)


def _start(worker: Worker[Any, Any]) -> asyncio.Task[None]:
    kind = worker.sender.kind
    task = asyncio.create_task(worker.run(), name=f"{kind.lower()}-worker")

    def report_crash(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("in-process %s worker stopped: %r", kind, task.exception())

    task.add_done_callback(report_crash)
    return task
