"""The guard's configuration: who may call each webhook (``providers:``) and how much (``limits:``).

Secrets never live in the file: it names the environment variables holding them. A variable
named in the file but missing from the environment stops start-up, so a typo cannot silently
open a webhook that was meant to be closed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from ussd_gateway.config.kinds import SECONDS, Kind, at_least
from ussd_gateway.config.loader import FAILED, Reader, join, setting
from ussd_gateway.config.operators import OperatorConfig

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NETWORK = Kind(
    "a network such as 203.0.113.0/24", lambda value: ipaddress.ip_network(str(value), False)
)


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ProviderAuth:
    """How callers of a route group (``/ussd/<name>…``, ``/sms/…``) prove who they are; every
    configured way must pass."""

    name: str
    path_token: str | None = field(default=None, repr=False)
    """Secret path segment: ``/ussd/<name>/<token>``, ``/sms/inbound/<token>``."""
    basic: BasicAuth | None = None
    allow: tuple[Network, ...] = ()
    """Source networks allowed to call; empty means any."""
    trusted_proxies: tuple[Network, ...] = ()
    """Direct peers whose ``X-Forwarded-For`` is believed."""

    @property
    def open(self) -> bool:
        return self.path_token is None and self.basic is None and not self.allow


@dataclass(frozen=True)
class _Basic:
    """``providers.<name>.basic`` as written."""

    username: str
    password_env: str | None = None
    """Default ``PROVIDER_<NAME>_PASSWORD``, a ``-`` in the name as ``_``."""


@dataclass(frozen=True)
class _Provider:
    """``providers.<name>`` as written: the names of variables, not the secrets."""

    path_token_env: str | None = None
    basic: _Basic | None = None
    allow: tuple[Annotated[Network, NETWORK], ...] = ()
    trusted_proxies: tuple[Annotated[Network, NETWORK], ...] = ()


def read_providers(reader: Reader, raw: Any, path: str) -> Any:
    """``providers:`` with each named secret taken from the environment."""
    written = reader.value(Mapping[str, _Provider], raw, path)
    if written is FAILED:
        return FAILED
    providers: dict[str, ProviderAuth] = {}
    failed = False
    for name, spec in written.items():
        auth = _auth(
            reader,
            spec,
            join(path, name),
            name,
            f"PROVIDER_{name.upper().replace('-', '_')}_PASSWORD",
        )
        if auth is FAILED:
            failed = True
            continue
        providers[name] = auth
    return FAILED if failed else providers


SMS_PASSWORD_ENV = "SMS_CALLBACK_PASSWORD"
"""``sms.auth.basic.password_env`` when the file does not name one."""


def read_caller_auth(reader: Reader, raw: Any, path: str) -> Any:
    """``sms.auth``: the same keys as ``providers.<name>``, for the SMS callbacks."""
    if raw is None:
        return None
    spec = reader.value(_Provider, raw, path)
    if spec is FAILED:
        return FAILED
    return _auth(reader, spec, path, "sms", SMS_PASSWORD_ENV)


def _auth(reader: Reader, spec: _Provider, where: str, name: str, password_env: str) -> Any:
    """One route group's rules with its secrets read from the environment; FAILED if missing."""
    token = basic = None
    if spec.path_token_env:
        token = _secret(reader, f"{where}.path_token_env", spec.path_token_env)
    if spec.basic is not None:
        variable = spec.basic.password_env or password_env
        password = _secret(reader, f"{where}.basic.password_env", variable)
        basic = password if password is FAILED else BasicAuth(spec.basic.username, password)
    if token is FAILED or basic is FAILED:
        return FAILED
    return ProviderAuth(name, token, basic, spec.allow, spec.trusted_proxies)


def _secret(reader: Reader, path: str, variable: str) -> Any:
    value = reader.env_value(variable)
    if value is None:
        return reader.wrong(path, "the name of a variable set in the environment", variable)
    return value


@dataclass(frozen=True)
class Window:
    """At most ``requests`` per ``window`` seconds; 0 requests means no limit."""

    requests: Annotated[int, at_least(0)] = 0
    window: Annotated[float, SECONDS, at_least(0)] = 60.0

    @property
    def enabled(self) -> bool:
        return self.requests > 0 and self.window > 0


DEFAULT_FIELDS: Mapping[str, int] = {
    "session_id": 128,
    "service_code": 40,
    "phone": 20,
    "network": 16,
    "text": 2000,
}
"""Longest value accepted per UssdRequest field, whatever the aggregator."""


@dataclass(frozen=True)
class Limits:
    phone: Window = field(default_factory=lambda: Window(30, 60.0))
    provider: Window = field(default_factory=Window)
    max_body: Annotated[int, at_least(1)] = 8 * 1024
    fields: Mapping[str, Annotated[int, at_least(1)]] = field(
        default_factory=lambda: dict(DEFAULT_FIELDS), metadata=setting(merge=True)
    )
    hop_deadline: Annotated[float, SECONDS, at_least(0)] = 2.5
    """Seconds a hop may take before the citizen gets the "still working" screen (0: none)."""


@dataclass(frozen=True)
class GuardConfig:
    providers: Mapping[str, ProviderAuth] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    admin_token: str | None = field(default=None, repr=False)
    sms: ProviderAuth | None = None
    """Who may call ``/sms/inbound`` and ``/sms/delivery`` (``sms.auth``); None: anyone."""
    operators: Mapping[str, OperatorConfig] = field(default_factory=dict)
    """Tokens scoped to the services an institution owns (``config.operators``)."""

    def provider(self, name: str) -> ProviderAuth | None:
        return self.providers.get(name)
