"""The SMS channel inside the web application: callbacks and status updates (the worker is
``http.outbox``'s).

Call :func:`setup_sms` after ``setup_forwarding`` (it appends to its ``STATUS_LISTENERS``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ussd_gateway.adapters.db.engine import create_sessionmaker
from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.application.sms.actions import ACTIONS
from ussd_gateway.application.sms.service_routes import LiveKeywords
from ussd_gateway.application.sms.updates import status_update_listener
from ussd_gateway.config.settings import ConfigError, Settings
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.http.backend_status import STATUS_LISTENERS
from ussd_gateway.http.keys import DATABASE, DEFINITIONS
from ussd_gateway.http.sms.keys import SMS_CONFIG, SMS_OUTBOX, SMS_ROUTER, SMS_WAKE
from ussd_gateway.http.sms.webhooks import setup_sms_routes


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


def setup_sms(app: web.Application, settings: Settings, *, menus: MenuRegistry) -> None:
    config = settings.sms
    app[SMS_CONFIG] = config
    app[SMS_ROUTER] = live_keywords(config, menus, settings)
    app[SMS_WAKE] = lambda: None  # until an in-process worker listens
    setup_sms_routes(app)

    async def sms(app: web.Application) -> AsyncIterator[None]:
        sessionmaker = create_sessionmaker(app[DATABASE])
        outbox = app[SMS_OUTBOX] = SmsOutbox(sessionmaker)
        app[STATUS_LISTENERS].append(
            status_update_listener(
                config, outbox, sessionmaker, lambda: app[DEFINITIONS], lambda: app[SMS_WAKE]()
            )
        )
        yield

    app.cleanup_ctx.append(sms)
