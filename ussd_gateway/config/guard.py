"""The guard's configuration: who may call each webhook (``providers:``) and how much (``limits:``).

Secrets never live in the file: it names the environment variables holding them. A variable
named in the file but missing from the environment stops start-up, so a typo cannot silently
open a webhook that was meant to be closed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ussd_gateway.config.settings import ConfigError, Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: str


@dataclass(frozen=True)
class ProviderAuth:
    """How callers of ``/ussd/<name>…`` prove who they are; every configured way must pass."""

    name: str
    path_token: str | None = None
    """Secret path segment: ``/ussd/<name>/<token>``."""
    basic: BasicAuth | None = None
    allow: tuple[Network, ...] = ()
    """Source networks allowed to call; empty means any."""
    trusted_proxies: tuple[Network, ...] = ()
    """Direct peers whose ``X-Forwarded-For`` is believed."""

    @property
    def open(self) -> bool:
        return self.path_token is None and self.basic is None and not self.allow


@dataclass(frozen=True)
class Window:
    """At most ``requests`` per ``window`` seconds; 0 requests means no limit."""

    requests: int = 0
    window: float = 60.0

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
    max_body: int = 8 * 1024
    fields: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    hop_deadline: float = 2.5
    """Seconds a hop may take before the citizen gets the "still working" screen (0: none)."""


@dataclass(frozen=True)
class GuardConfig:
    providers: Mapping[str, ProviderAuth] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    admin_token: str | None = None

    def provider(self, name: str) -> ProviderAuth | None:
        return self.providers.get(name)


def _networks(where: str, raw: Any) -> tuple[Network, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise ConfigError(f"{where} must be a list of networks (CIDR)")
    try:
        return tuple(ipaddress.ip_network(str(item), strict=False) for item in raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _secret(where: str, env_name: Any, env: Mapping[str, str]) -> str:
    name = str(env_name)
    value = env.get(name, "")
    if not value:
        raise ConfigError(f"{where} names {name}, which is not set in the environment")
    return value


def _provider(name: str, raw: Any, env: Mapping[str, str]) -> ProviderAuth:
    where = f"providers.{name}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    token = None
    if raw.get("path_token_env"):
        token = _secret(f"{where}.path_token_env", raw["path_token_env"], env)
    basic = None
    if raw.get("basic") is not None:
        spec = raw["basic"]
        if not isinstance(spec, Mapping) or not spec.get("username"):
            raise ConfigError(f"{where}.basic needs username and password_env")
        password_env = spec.get("password_env") or f"PROVIDER_{name.upper()}_PASSWORD"
        basic = BasicAuth(str(spec["username"]), _secret(f"{where}.basic", password_env, env))
    return ProviderAuth(
        name=name,
        path_token=token,
        basic=basic,
        allow=_networks(f"{where}.allow", raw.get("allow")),
        trusted_proxies=_networks(f"{where}.trusted_proxies", raw.get("trusted_proxies")),
    )


def _window(where: str, raw: Any, default: Window) -> Window:
    if raw is None:
        return default
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with requests and window")
    return Window(
        requests=int(raw.get("requests", default.requests)),
        window=float(raw.get("window", default.window)),
    )


def _limits(raw: Mapping[str, Any]) -> Limits:
    default = Limits()
    fields = dict(DEFAULT_FIELDS)
    extra = raw.get("fields") or {}
    if not isinstance(extra, Mapping) or set(extra) - set(DEFAULT_FIELDS):
        raise ConfigError(f"limits.fields may only set {', '.join(DEFAULT_FIELDS)}")
    fields.update({str(k): int(v) for k, v in extra.items()})
    return Limits(
        phone=_window("limits.phone", raw.get("phone"), default.phone),
        provider=_window("limits.provider", raw.get("provider"), default.provider),
        max_body=int(raw.get("max_body", default.max_body)),
        fields=fields,
        hop_deadline=float(raw.get("hop_deadline", default.hop_deadline)),
    )


def load_guard_config(settings: Settings) -> GuardConfig:
    """``providers:`` and ``limits:`` from gateway.yaml, secrets and ``ADMIN_TOKEN`` from env."""
    env = settings.env
    providers = {
        str(name): _provider(str(name), raw or {}, env)
        for name, raw in settings.section("providers").items()
    }
    try:
        limits = _limits(settings.section("limits"))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"limits: {exc}") from exc
    return GuardConfig(
        providers=providers, limits=limits, admin_token=env.get("ADMIN_TOKEN") or None
    )
