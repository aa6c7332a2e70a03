"""Typed application keys of the SMS channel (set by ``sms.hook``)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.application.sms.service_routes import LiveKeywords
from ussd_gateway.config.sms import SmsConfig

SMS_CONFIG = web.AppKey("sms_config", SmsConfig)
SMS_OUTBOX = web.AppKey("sms_outbox", SmsOutbox)
SMS_ROUTER = web.AppKey("sms_router", LiveKeywords)
"""The keyword table (``.router``) for the menus served now."""
SMS_WAKE = web.AppKey("sms_wake", Callable[[], None])
"""Tells the in-process SMS worker that something was queued (a no-op without one)."""
