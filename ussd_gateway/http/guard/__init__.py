"""Who may call the gateway: webhook and admin authentication, as aiohttp middlewares.

How much they may call (rate limits, the hop deadline) is the application's guard
(``application.guard``), which wraps the hop service itself.
"""

from __future__ import annotations

import logging

from aiohttp import web

from ussd_gateway.config.guard import GuardConfig
from ussd_gateway.config.operators import env_name
from ussd_gateway.http.guard.admin import admin_middleware
from ussd_gateway.http.guard.auth import warn_open_webhooks, webhook_middleware

log = logging.getLogger(__name__)


def install_guard(app: web.Application, config: GuardConfig) -> None:
    """Add the middlewares; say at start which webhooks are open and whether admin is off."""
    app.middlewares.append(webhook_middleware(config))
    app.middlewares.append(admin_middleware(config.admin_token, config.operators))

    async def warn(app: web.Application) -> None:
        warn_open_webhooks(app, config)
        if not config.admin_token:
            scoped = any(o.digest for o in config.operators.values())
            log.info(
                "ADMIN_TOKEN is not set: admin endpoints refuse every request%s",
                " but operators' on their own services" if scoped else "",
            )
        for name, operator in config.operators.items():
            if not operator.digest:
                log.warning("operator %s has no token (token_sha256 or %s)", name, env_name(name))

    app.on_startup.append(warn)
