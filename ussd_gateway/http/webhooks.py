"""The aggregator webhooks: one handler for every provider, and session-end notifications.

The provider is the first path segment after ``/ussd/``; an optional second segment (a secret
token) is checked by the authentication middleware, not here.
"""

from __future__ import annotations

import logging

from aiohttp import web

from ussd_gateway.domain.ussd import BadRequest, SessionEnd
from ussd_gateway.http.keys import HOPS
from ussd_gateway.http.providers import ADAPTERS, africastalking
from ussd_gateway.http.providers.base import bad_request

log = logging.getLogger(__name__)


async def ussd_webhook(request: web.Request) -> web.Response:
    adapter = ADAPTERS.get(request.match_info["provider"])
    if adapter is None:
        raise web.HTTPNotFound(text="unknown provider\n")
    try:
        parsed = await adapter.read_request(request)
    except BadRequest as exc:
        return bad_request(exc)
    if isinstance(parsed, SessionEnd):
        await end_session(request, parsed)
        return adapter.acknowledge(parsed)
    reply = await request.app[HOPS].handle(parsed)
    return adapter.render(reply, parsed)


async def africastalking_events(request: web.Request) -> web.Response:
    """Africa's Talking's end-of-session notification: why the session ended."""
    try:
        end = await africastalking.read_notification(request)
    except BadRequest as exc:
        return bad_request(exc)
    await end_session(request, end)
    return africastalking.acknowledge(end)


async def end_session(request: web.Request, end: SessionEnd) -> None:
    known = await request.app[HOPS].close(
        end.provider, end.session_id, end.reason, dropped=end.dropped
    )
    if not known:
        log.info("end of unknown session %s:%s (%s)", end.provider, end.session_id, end.reason)


def setup_webhooks(app: web.Application) -> None:
    """The events routes first, so ``events`` is never taken for a token; every route names
    its provider in ``match_info["provider"]`` for the authentication middleware."""
    app.router.add_post("/ussd/{provider:africastalking}/events", africastalking_events)
    app.router.add_post("/ussd/{provider:africastalking}/{token}/events", africastalking_events)
    app.router.add_post("/ussd/{provider}", ussd_webhook)
    app.router.add_post("/ussd/{provider}/{token}", ussd_webhook)
