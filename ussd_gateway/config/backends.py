"""Backends and the delivery worker as configured: ``backends:`` and ``delivery:`` sections.

Read once at start-up into frozen values; a mistake is a ConfigError naming the backend and the
key, so a worker never starts half-configured. Secrets come from the environment
(``BACKEND_<NAME>_URL``, ``_TOKEN``, ``_SECRET``), never from the repository.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ussd_gateway.config.settings import ConfigError, Settings

ENV_KEYS: tuple[tuple[str, str], ...] = (("URL", "url"), ("TOKEN", "token"), ("SECRET", "secret"))
"""Environment suffix → backend key it overrides."""


def env_prefix(name: str) -> str:
    """``feedback`` → ``BACKEND_FEEDBACK_``; anything not a letter or digit becomes ``_``."""
    return "BACKEND_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "_"


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again: exponential backoff with jitter, bounded by attempts and by age."""

    max_attempts: int = 20
    base_delay: float = 5.0
    """Seconds before the second attempt."""
    backoff_factor: float = 2.0
    max_delay: float = 300.0
    """No wait is longer than this (before jitter): the "one backoff period" of a recovery."""
    jitter: float = 0.2
    """Each wait is multiplied by a random factor in [1 - jitter, 1 + jitter]."""
    give_up_after: float = 3 * 24 * 3600.0
    """Seconds after submission (or after an operator's retry) when a failing one goes dead."""

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first)."""
        raw = min(self.max_delay, self.base_delay * self.backoff_factor ** max(0, attempt - 1))
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else 1
        return max(0.0, raw * spread)

    def next_wait(
        self,
        attempt: int,
        age: float,
        rng: random.Random | None = None,
        retry_after: float | None = None,
    ) -> float | None:
        """Seconds until the next try after failed attempt ``attempt`` of something ``age``
        seconds old (at least ``retry_after``, if the other side asked); None to give up."""
        wait = max(self.delay(attempt, rng), retry_after or 0.0)
        if attempt >= self.max_attempts or age + wait > self.give_up_after:
            return None
        return wait

    @classmethod
    def parse(cls, where: str, raw: Any) -> RetryPolicy:
        raw = _mapping(where, raw)
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        try:
            policy = cls(
                max_attempts=int(raw.get("max_attempts", cls.max_attempts)),
                base_delay=float(raw.get("base_delay", cls.base_delay)),
                backoff_factor=float(raw.get("backoff_factor", cls.backoff_factor)),
                max_delay=float(raw.get("max_delay", cls.max_delay)),
                jitter=float(raw.get("jitter", cls.jitter)),
                give_up_after=float(raw.get("give_up_after", cls.give_up_after)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        if policy.max_attempts < 1 or policy.base_delay < 0 or policy.max_delay < 0:
            raise ConfigError(f"{where}: max_attempts must be ≥ 1 and delays ≥ 0")
        if not 0 <= policy.jitter < 1 or policy.backoff_factor < 1:
            raise ConfigError(f"{where}: jitter must be in [0, 1) and backoff_factor ≥ 1")
        return policy


@dataclass(frozen=True)
class BackendConfig:
    """One named backend: its type, retry policy and the type-specific rest (env applied)."""

    name: str
    type: str
    retry: RetryPolicy
    options: Mapping[str, Any]
    """Everything but ``type`` and ``retry``, with ``url``/``token``/``secret`` from the env."""

    @property
    def token(self) -> str | None:
        return optional_str(self.options.get("token"))

    @property
    def secret(self) -> str | None:
        return optional_str(self.options.get("secret"))

    @property
    def timeout(self) -> float:
        return float(self.options.get("timeout", 10.0))


@dataclass(frozen=True)
class DeliverySettings:
    """How the worker claims and paces work (``delivery:`` section)."""

    poll_interval: float = 0.5
    """Seconds between looks for due submissions when idle: how fast new work starts."""
    batch_size: int = 50
    concurrency: int = 10
    """Deliveries in flight at once per worker."""
    lease: float = 60.0
    """Seconds a claimed submission stays reserved; a killed worker's rows come back after it."""
    shutdown_grace: float = 10.0
    """Seconds SIGTERM waits for deliveries in flight before releasing their leases."""

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> DeliverySettings:
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"delivery: unknown key(s) {', '.join(sorted(unknown))}")
        try:
            value = cls(
                poll_interval=float(raw.get("poll_interval", cls.poll_interval)),
                batch_size=int(raw.get("batch_size", cls.batch_size)),
                concurrency=int(raw.get("concurrency", cls.concurrency)),
                lease=float(raw.get("lease", cls.lease)),
                shutdown_grace=float(raw.get("shutdown_grace", cls.shutdown_grace)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"delivery: {exc}") from exc
        if value.poll_interval <= 0 or value.batch_size < 1 or value.concurrency < 1:
            raise ConfigError("delivery: poll_interval, batch_size and concurrency must be > 0")
        if value.lease <= 0:
            raise ConfigError("delivery: lease must be > 0")
        return value


@dataclass(frozen=True)
class ForwardingConfig:
    backends: Mapping[str, BackendConfig] = field(default_factory=dict)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    def backend(self, name: str) -> BackendConfig | None:
        return self.backends.get(name)

    @property
    def lease(self) -> float:
        """The lease, never shorter than the slowest backend's timeout plus a margin."""
        longest = max((b.timeout for b in self.backends.values()), default=0.0)
        return max(self.delivery.lease, longest + min(5.0, longest))


def parse_backend(name: str, raw: Any, env: Mapping[str, str]) -> BackendConfig:
    where = f"backends.{name}"
    raw = _mapping(where, raw)
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{where}: type is missing (http or govesb)")
    options = {k: v for k, v in raw.items() if k not in {"type", "retry"}}
    prefix = env_prefix(name)
    for suffix, key in ENV_KEYS:
        if env.get(prefix + suffix):
            options[key] = env[prefix + suffix]
    return BackendConfig(
        name=name,
        type=kind,
        retry=RetryPolicy.parse(f"{where}.retry", raw.get("retry")),
        options=options,
    )


def load_forwarding(settings: Settings) -> ForwardingConfig:
    """The ``backends`` and ``delivery`` sections of ``settings``, checked."""
    backends = {
        str(name): parse_backend(str(name), raw, settings.env)
        for name, raw in settings.section("backends").items()
    }
    return ForwardingConfig(
        backends=backends, delivery=DeliverySettings.parse(settings.section("delivery"))
    )


def _mapping(where: str, raw: Any) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    return raw


def optional_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
