"""Who may call the gateway and how much: webhook and admin authentication, abuse limits.

``Guard.install(app)`` adds the middlewares and a clean-up context owning the limiter's
connection; ``GuardedHopService`` puts the limits in front of every hop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from ussd_gateway.adapters.guard_state import GuardState, MemoryGuardState, create_state
from ussd_gateway.application.guard import GuardedHopService
from ussd_gateway.config.guard import GuardConfig
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.guard.admin import admin_middleware
from ussd_gateway.http.guard.auth import warn_open_webhooks, webhook_middleware

log = logging.getLogger(__name__)

LATE_HOP_GRACE = 10.0
"""Seconds shutdown waits for hops that overran their deadline to save their sessions."""

__all__ = ["Guard", "GuardConfig", "GuardedHopService"]


class Guard:
    """The guard's configuration and runtime state, shared by the middlewares and hop service."""

    def __init__(self, config: GuardConfig, redis_url: str | None = None) -> None:
        self.config = config
        self.redis_url = redis_url
        self.state: GuardState = MemoryGuardState()
        self._late: set[asyncio.Task[object]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        return cls(settings.guard, settings.redis_url)

    def install(self, app: web.Application) -> None:
        """Add the middlewares and the clean-up context (append after the hop service's own)."""
        app.middlewares.append(webhook_middleware(self.config))
        app.middlewares.append(admin_middleware(self.config.admin_token))
        app.cleanup_ctx.append(self._lifetime)

    async def _lifetime(self, app: web.Application) -> AsyncIterator[None]:
        self.state = create_state(self.redis_url)
        warn_open_webhooks(app, self.config)
        if not self.config.admin_token:
            log.info("ADMIN_TOKEN is not set: admin endpoints refuse every request")
        try:
            yield
        finally:
            if self._late:
                await asyncio.wait(set(self._late), timeout=LATE_HOP_GRACE)
            await self.state.close()

    def keep(self, task: asyncio.Task[object]) -> None:
        """Let a hop that overran its deadline finish in the background, and log its end."""
        self._late.add(task)
        task.add_done_callback(self._late_done)

    def _late_done(self, task: asyncio.Task[object]) -> None:
        self._late.discard(task)
        if task.cancelled():
            log.warning("late hop cancelled")
        elif task.exception() is not None:
            log.error("late hop failed", exc_info=task.exception())
        else:
            log.info("late hop finished; its screen waits for the citizen's next entry")
