"""Typed keys for what the application holds, shared by the factory and the handlers."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.application.factory import Gateway
from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.config.settings import Settings
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.ports.hops import HopHandler
from ussd_gateway.ports.sessions import SessionStore

SETTINGS = web.AppKey("settings", Settings)
MENUS = web.AppKey("menus", MenuRegistry)
DEFINITIONS = web.AppKey("definitions", dict[str, MenuDefinition])
"""The menus served now (updated in place on reload)."""
GATEWAY = web.AppKey("gateway", Gateway)
"""Everything the start-up hook opened (``application.factory.open_gateway``)."""
DATABASE = web.AppKey("database", AsyncEngine)
"""The process's one database engine."""
HOPS = web.AppKey("hops", HopHandler)
"""What the webhooks call: the hop service behind the guard."""
SESSIONS = web.AppKey("sessions", SessionStore)
SUBMISSIONS = web.AppKey("submissions", SubmissionStore)
