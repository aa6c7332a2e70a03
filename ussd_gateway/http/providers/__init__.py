"""Aggregator adapters: each turns its webhook into a UssdRequest and a reply into its format.

``ADAPTERS`` maps the provider name in ``POST /ussd/{provider}`` to its adapter, so one route
handler serves every aggregator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType

from aiohttp import web

from ussd_gateway.config.settings import Settings
from ussd_gateway.domain.ussd import SessionEnd, UssdReply, UssdRequest
from ussd_gateway.http.providers import (
    africastalking,
    arkesel,
    beem,
    cross_switch,
    emergent,
    generic,
    hubtel,
    nalo,
    southpawsl,
)
from ussd_gateway.http.providers.fields import DEFAULT_CODE


@dataclass(frozen=True, slots=True)
class Adapter:
    name: str
    read_request: Callable[[web.Request], Awaitable[UssdRequest | SessionEnd]]
    """Parse the webhook; raise BadRequest (-> 400) with a one-line reason."""
    render: Callable[[UssdReply, UssdRequest], web.Response]
    acknowledge: Callable[[SessionEnd], web.Response]
    """The answer to an end-of-session notice."""

    @classmethod
    def of(cls, module: ModuleType) -> Adapter:
        return cls(module.NAME, module.read_request, module.render, module.acknowledge)


MODULES = (africastalking, beem, hubtel, emergent, cross_switch, arkesel, nalo, southpawsl, generic)
ADAPTERS: dict[str, Adapter] = {adapter.name: adapter for adapter in map(Adapter.of, MODULES)}


def configure(app: web.Application, settings: Settings) -> None:
    """Providers' own sections, read once: a malformed one fails at start-up, not per request."""
    app[beem.SETTINGS_KEY] = beem.settings_for(settings)
    app[DEFAULT_CODE] = next(iter(settings.service_codes), "")


__all__ = ["ADAPTERS", "Adapter", "configure"]
