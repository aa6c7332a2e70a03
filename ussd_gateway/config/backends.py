"""Backends and the delivery worker as configured: ``backends:`` and ``delivery:`` sections.

What every backend has (type, retry policy, timeout) is read here; the rest of its keys are
checked by the connector of its type (``adapters/connectors``) with the same reader, so their
problems read the same. Secrets come from the environment (``BACKEND_<NAME>_URL``, ``_TOKEN``,
``_SECRET``), never from the repository.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

from ussd_gateway.config.kinds import SECONDS, Kind, above, at_least, below
from ussd_gateway.config.loader import FAILED, Reader, join, setting

COMMON_KEYS: tuple[str, ...] = ("type", "retry", "timeout", "status_window")
"""A backend's keys read here; its connector reads the others."""

ENV_SUFFIXES: tuple[str, ...] = ("URL", "TOKEN", "SECRET")
"""``BACKEND_<NAME>_<suffix>`` variables a backend's connector may read."""


def _http_url(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(value)
    return value.strip()


HTTP_URL = Kind("an http(s) URL", _http_url)
"""A backend's address: what connectors call."""


def env_prefix(name: str) -> str:
    """``feedback`` → ``BACKEND_FEEDBACK_``; anything not a letter or digit becomes ``_``."""
    return "BACKEND_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "_"


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again: exponential backoff with jitter, bounded by attempts and by age."""

    max_attempts: Annotated[int, at_least(1)] = 20
    base_delay: Annotated[float, SECONDS, at_least(0)] = 5.0
    """Seconds before the second attempt."""
    backoff_factor: Annotated[float, at_least(1)] = 2.0
    max_delay: Annotated[float, SECONDS, at_least(0)] = 300.0
    """No wait is longer than this (before jitter): the "one backoff period" of a recovery."""
    jitter: Annotated[float, at_least(0), below(1)] = 0.2
    """Each wait is multiplied by a random factor in [1 - jitter, 1 + jitter]."""
    give_up_after: Annotated[float, SECONDS, at_least(0)] = 3 * 24 * 3600.0
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


def _connector_type(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    return value.strip()


@dataclass(frozen=True)
class BackendConfig:
    """One named backend: what every type has, and the rest for its connector to check."""

    name: str = field(metadata=setting(file=False))
    type: Annotated[str, Kind("a connector type (http or govesb)", _connector_type)]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: Annotated[float, SECONDS, above(0)] = 10.0
    """Seconds one attempt may take (the worker renews its lease meanwhile)."""
    status_window: Annotated[float, SECONDS, above(0)] = 300.0
    """Seconds either side of the gateway's clock a signed status report's ``timestamp`` may
    be: an older body is a replay."""
    options: Mapping[str, Any] = field(default_factory=dict, metadata=setting(rest=True))
    """Every other key, as written: the connector of ``type`` reads them."""
    env: Mapping[str, str] = field(default_factory=dict, repr=False, metadata=setting(file=False))
    """The ``BACKEND_<NAME>_*`` variables set at load time (they win over ``options``)."""
    source: str = field(default="configuration", repr=False, metadata=setting(file=False))
    """The file read, for the connector's problem lines."""

    @property
    def path(self) -> str:
        """Where its keys are, in problem lines: ``backends.feedback``."""
        return f"backends.{self.name}"

    @property
    def token(self) -> str | None:
        return self._secret("TOKEN", "token")

    @property
    def secret(self) -> str | None:
        return self._secret("SECRET", "secret")

    def _secret(self, suffix: str, key: str) -> str | None:
        value = self.env.get(env_prefix(self.name) + suffix) or self.options.get(key)
        return str(value) if value not in (None, "") else None


def read_backends(reader: Reader, raw: Any, path: str) -> Any:
    """``backends:``: each entry a BackendConfig, with its own environment overrides."""
    if not isinstance(raw, Mapping):
        return reader.wrong(path, "a mapping of backend names to backends", raw)
    backends: dict[str, BackendConfig] = {}
    for name, entry in raw.items():
        prefix = env_prefix(str(name))
        env = {
            prefix + suffix: value
            for suffix in ENV_SUFFIXES
            if (value := reader.env_value(prefix + suffix)) is not None
        }
        given = {"name": str(name), "env": env, "source": reader.source}
        backends[str(name)] = reader.section(BackendConfig, entry, join(path, name), given=given)
    return FAILED if any(b is FAILED for b in backends.values()) else backends


@dataclass(frozen=True)
class DeliverySettings:
    """How the worker claims and paces work (``delivery:`` section)."""

    poll_interval: Annotated[float, SECONDS, above(0)] = 0.5
    """Seconds between looks for due submissions when idle: how fast new work starts."""
    batch_size: Annotated[int, at_least(1)] = 50
    concurrency: Annotated[int, at_least(1)] = 10
    """Deliveries in flight at once per worker."""
    lease: Annotated[float, SECONDS, above(0)] = 10.0
    """Seconds a claimed submission stays reserved unless renewed (the worker renews it while
    the delivery is in flight): a killed worker's rows come back after it."""
    shutdown_grace: Annotated[float, SECONDS, at_least(0)] = 10.0
    """Seconds SIGTERM waits for deliveries in flight before releasing their leases."""


@dataclass(frozen=True)
class ForwardingConfig:
    backends: Mapping[str, BackendConfig] = field(default_factory=dict)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    def backend(self, name: str) -> BackendConfig | None:
        return self.backends.get(name)

    @property
    def lease(self) -> float:
        """The worker's lease: short, since it is renewed while a delivery is in flight."""
        return self.delivery.lease
