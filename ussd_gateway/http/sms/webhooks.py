"""``POST /sms/inbound`` and ``POST /sms/delivery``: Africa's Talking's SMS callbacks.

Both answer 200 once the effect is stored, so Africa's Talking stops retrying; a retried
callback changes nothing more (the inbound reply's purpose is ``reply:<id>``, a submission's
idempotency key ``sms:<id>``; a delivery report sets the same values again). A malformed
callback gets a 400 with the reason and nothing is stored. Who may call them is the guard's
(``sms.auth``, ``http.guard.auth``); each route also answers at ``…/<token>``.

Inbound limits (``sms.limits``). A number over its limit gets a 200 and nothing is done: no
submission, no opt-out, no reply. A non-2xx would make the aggregator retry each message for
minutes, multiplying a flood, and a reply would let whoever floods with a spoofed number send
texts to its owner at our cost. A source address over its limit gets a 429 with
``Retry-After``: that is a caller, not a citizen, and a real aggregator bursting past it
delivers later, when its retries (which end on their own) fall in the next window.
"""

from __future__ import annotations

import logging
import math

from aiohttp import web

from ussd_gateway.application.sms.actions import ACTIONS, ActionContext, InboundSms
from ussd_gateway.application.sms.router import Match
from ussd_gateway.config.sms import KeywordRoute, SmsConfig
from ussd_gateway.domain.outgoing import OutgoingSms
from ussd_gateway.domain.privacy import mask_phone
from ussd_gateway.domain.ussd import BadRequest
from ussd_gateway.http.bodies import read_form
from ussd_gateway.http.guard.auth import resolve_client
from ussd_gateway.http.keys import DEFINITIONS, GATEWAY, SETTINGS, SUBMISSIONS
from ussd_gateway.http.providers.base import bad_request
from ussd_gateway.http.sms.fields import DELIVERY_STATUSES, optional, phone, required
from ussd_gateway.http.sms.keys import SMS_CONFIG, SMS_OUTBOX, SMS_ROUTER, SMS_WAKE

log = logging.getLogger(__name__)


async def form_of(request: web.Request) -> dict[str, str]:
    """The callback's form fields; a body that is no form is the body reader's 4xx."""
    return await read_form(request)


def read_inbound(form: dict[str, str], country: str) -> InboundSms:
    return InboundSms(
        id=required(form, "id", 100),
        phone=phone(form, "from", country),
        to=optional(form, "to", 32) or "",
        text=optional(form, "text", 2000) or "",
        date=optional(form, "date", 40) or "",
        link_id=optional(form, "linkId", 100),
    )


async def inbound(request: web.Request) -> web.Response:
    try:
        country = request.app[SETTINGS].country_code
        message = read_inbound(await form_of(request), country)
    except BadRequest as exc:
        return bad_request(exc)
    app = request.app
    config, outbox, router = app[SMS_CONFIG], app[SMS_OUTBOX], app[SMS_ROUTER].router
    limited = await over_limit(request, message)
    if limited is not None:
        return limited
    purpose = f"reply:{message.id}"
    if await outbox.find(purpose) is not None:  # Africa's Talking retrying: done already
        return web.Response(text="OK")
    match = router.match(message.text)
    if match is None:
        language = router.guess_language(message.text, config.default_language)
        match = Match(KeywordRoute(("",), language, "help"), message.text)
    context = ActionContext(
        message, match, config, outbox, app[SUBMISSIONS], app[DEFINITIONS], router
    )
    try:
        reply = await ACTIONS[match.route.action](context)
    except Exception:  # a 500 makes Africa's Talking retry: the actions are idempotent
        log.exception("SMS %s from %s failed", message.id, mask_phone(message.phone))
        raise web.HTTPInternalServerError(text="try again\n") from None
    await outbox.enqueue(
        OutgoingSms(
            purpose=purpose,
            phone=message.phone,
            language=match.route.language,
            text=reply,
            link_id=message.link_id,
            sender=message.to if message.link_id and message.to else None,
        )
    )
    app[SMS_WAKE]()
    log.info("SMS %s from %s: %s", message.id, mask_phone(message.phone), match.route.action)
    return web.Response(text="OK")


def source_of(request: web.Request, config: SmsConfig) -> str | None:
    """The caller's address, through the trusted proxies of ``sms.auth``."""
    proxies = config.auth.trusted_proxies if config.auth is not None else ()
    forwarded = request.headers.getall("X-Forwarded-For", [])
    address = resolve_client(request.remote or "", forwarded, proxies)
    return str(address) if address is not None else None


async def over_limit(request: web.Request, message: InboundSms) -> web.Response | None:
    """The answer to a message over ``sms.limits`` (see the module's note), else None."""
    config = request.app[SMS_CONFIG]
    source = source_of(request, config)
    refused = await request.app[GATEWAY].sms_limits.check(message.id, message.phone, source)
    if refused is None:
        return None
    if refused.scope == "source":
        log.warning("SMS callbacks from %s over their limit: 429", source)
        seconds = max(1, math.ceil(refused.retry_after))
        return web.Response(
            status=429,
            text=f"too many requests: retry after {seconds} s\n",
            headers={"Retry-After": str(seconds)},
        )
    log.warning(
        "SMS %s from %s over the number's limit: dropped", message.id, mask_phone(message.phone)
    )
    return web.Response(text="OK")


async def delivery(request: web.Request) -> web.Response:
    form = await form_of(request)
    try:
        message_id = required(form, "id", 100)
        status = required(form, "status", 32)
        if status not in DELIVERY_STATUSES:
            raise BadRequest(f"status must be one of {', '.join(sorted(DELIVERY_STATUSES))}")
        reason = optional(form, "failureReason", 100)
        network = optional(form, "networkCode", 16)
        number = optional(form, "phoneNumber", 20)
        retries = optional(form, "retryCount", 6)
        if retries is not None and not retries.isdigit():
            raise BadRequest("retryCount must be a whole number")
    except BadRequest as exc:
        return bad_request(exc)
    known = await request.app[SMS_OUTBOX].report(message_id, status, reason, network)
    if not known:
        log.info(
            "delivery report for unknown SMS %s to %s: %s", message_id, mask_phone(number), status
        )
    return web.Response(text="OK")


def setup_sms_routes(app: web.Application) -> None:
    app.router.add_post("/sms/inbound", inbound)
    app.router.add_post("/sms/delivery", delivery)
    app.router.add_post("/sms/inbound/{token}", inbound)  # the secret path of sms.auth
    app.router.add_post("/sms/delivery/{token}", delivery)
