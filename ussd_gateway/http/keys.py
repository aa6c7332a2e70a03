"""Typed keys for what the application holds, shared by the factory and the handlers."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.application.hops import HopService
from ussd_gateway.config.settings import Settings
from ussd_gateway.engine.definition import MenuDefinition

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", AsyncEngine)
"""The process's one database engine, opened and disposed by the application factory's hook."""
DEFINITIONS = web.AppKey("definitions", dict[str, MenuDefinition])
HOPS = web.AppKey("hops", HopService)
SUBMISSIONS = web.AppKey("submissions", SubmissionStore)
