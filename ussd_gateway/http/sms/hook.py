"""The SMS channel inside the web application: callbacks, status updates and, on SQLite, a
worker (the same rule as forwarding: ``serve`` sends by itself unless a separate ``ussd-gateway
worker`` is the plan, i.e. on PostgreSQL).

Call :func:`setup_sms` after ``setup_forwarding`` (it appends to its ``STATUS_LISTENERS``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from ussd_gateway.adapters.db.engine import create_sessionmaker
from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.adapters.outbox.sms_worker import SmsWorker
from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.application.sms.actions import ACTIONS
from ussd_gateway.application.sms.service_routes import LiveKeywords
from ussd_gateway.application.sms.updates import status_update_listener
from ussd_gateway.config.settings import ConfigError, Settings
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.http.backend_status import STATUS_LISTENERS
from ussd_gateway.http.forwarding import is_sqlite
from ussd_gateway.http.keys import DATABASE, DEFINITIONS
from ussd_gateway.http.sms.keys import SMS_CONFIG, SMS_OUTBOX, SMS_ROUTER, SMS_WAKE
from ussd_gateway.http.sms.webhooks import setup_sms_routes

log = logging.getLogger(__name__)


def check_routes(config: SmsConfig) -> None:
    """An unknown action in ``sms.keywords`` stops start-up."""
    for route in config.keywords:
        if route.action not in ACTIONS:
            raise ConfigError(
                f"sms.keywords: {' '.join(route.words)}: unknown action {route.action!r} "
                f"(one of {', '.join(sorted(ACTIONS))})"
            )


def live_keywords(config: SmsConfig, menus: MenuRegistry, settings: Settings) -> LiveKeywords:
    """The one keyword table: configured routes and the served services' own keywords; a
    keyword declared twice (config and a service, or twice in config) stops start-up."""
    check_routes(config)
    try:
        return LiveKeywords(config.keywords, menus, settings.service_codes)
    except ValueError as exc:
        raise ConfigError(f"sms.keywords: {exc}") from exc


def setup_sms(
    app: web.Application, settings: Settings, *, worker: bool | None, menus: MenuRegistry
) -> None:
    config = settings.sms
    run_worker = is_sqlite(settings.database_url) if worker is None else worker
    app[SMS_CONFIG] = config
    app[SMS_ROUTER] = live_keywords(config, menus, settings)
    app[SMS_WAKE] = lambda: None
    setup_sms_routes(app)

    async def sms(app: web.Application) -> AsyncIterator[None]:
        sessionmaker = create_sessionmaker(app[DATABASE])
        outbox = app[SMS_OUTBOX] = SmsOutbox(sessionmaker)
        sender: SmsWorker | None = None
        task: asyncio.Task[None] | None = None
        if run_worker:
            sender = SmsWorker(config, sessionmaker)
            app[SMS_WAKE] = sender.wake
            task = asyncio.create_task(sender.run(), name="sms-worker")
            task.add_done_callback(_report_crash)
        app[STATUS_LISTENERS].append(
            status_update_listener(
                config, outbox, sessionmaker, lambda: app[DEFINITIONS], lambda: app[SMS_WAKE]()
            )
        )
        try:
            yield
        finally:
            if sender is not None and task is not None:
                sender.stop()
                await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(sms)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("in-process SMS worker stopped: %r", task.exception())
