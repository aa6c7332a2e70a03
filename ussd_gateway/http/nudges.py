"""The dropped-call SMS sweep (``application.nudges``) inside every web process: each has the
menus and the session store already, and the store hands each journey to one process only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from ussd_gateway.application.nudges import Nudger, sweep_every
from ussd_gateway.config.settings import Settings
from ussd_gateway.http.keys import MENUS, SESSIONS
from ussd_gateway.http.sms.keys import SMS_OUTBOX, SMS_WAKE
from ussd_gateway.ports.clock import Clock

NUDGER = web.AppKey("nudger", Nudger)

log = logging.getLogger(__name__)


def setup_nudges(app: web.Application, settings: Settings, *, clock: Clock) -> None:
    """Call after ``setup_sms``: the sweep queues into its outbox and wakes its worker."""

    async def nudges(app: web.Application) -> AsyncIterator[None]:
        nudger = app[NUDGER] = Nudger(
            store=app[SESSIONS],
            menus=app[MENUS],
            settings=settings,
            outbox=app[SMS_OUTBOX],
            clock=clock.time,
            wake=lambda: app[SMS_WAKE](),
        )
        interval = settings.sessions.nudge_interval
        for definition in app[MENUS].definitions.values():
            if definition.nudge_after >= settings.sessions.resume_window:
                log.warning(
                    "service %s: nudge after %ss is past sessions.resume_window (%ss): "
                    "its journeys can no longer be resumed by then, so none is nudged",
                    definition.service,
                    f"{definition.nudge_after:g}",
                    f"{settings.sessions.resume_window:g}",
                )
        if interval <= 0 or not any(d.nudge_after > 0 for d in app[MENUS].definitions.values()):
            yield  # none to send (a reload that adds `nudge:` takes a restart to be swept)
            return
        stop = asyncio.Event()
        task = asyncio.create_task(sweep_every(nudger, interval, stop), name="nudge-sweep")
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(nudges)
