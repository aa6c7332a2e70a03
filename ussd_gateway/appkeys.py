"""Typed keys for what the application holds, shared by the factory and the handlers."""

from __future__ import annotations

from aiohttp import web

from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.hops import HopService
from ussd_gateway.settings import Settings
from ussd_gateway.submissions.store import SubmissionStore

SETTINGS = web.AppKey("settings", Settings)
DEFINITIONS = web.AppKey("definitions", dict[str, MenuDefinition])
HOPS = web.AppKey("hops", HopService)
SUBMISSIONS = web.AppKey("submissions", SubmissionStore)
