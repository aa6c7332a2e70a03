"""Connector types by name: ``type: http`` in a backend's configuration finds ``http.build``.

Each connector module exposes ``build(name, config, env, *, client) -> Connector``. Modules are
imported when first needed, so a type whose module is absent fails with a configuration error
naming the backend, not at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from ussd_gateway.adapters.connectors.base import Connector
from ussd_gateway.config.backends import BackendConfig, ForwardingConfig
from ussd_gateway.config.settings import ConfigError

Builder = Callable[..., Connector]

CONNECTOR_TYPES: Mapping[str, str] = {
    "http": "ussd_gateway.adapters.connectors.http",
    "govesb": "ussd_gateway.adapters.connectors.govesb",
}
"""type → module exposing ``build``."""


def builder(backend: BackendConfig) -> Builder:
    module_name = CONNECTOR_TYPES.get(backend.type)
    if module_name is None:
        known = ", ".join(sorted(CONNECTOR_TYPES))
        raise ConfigError(f"backends.{backend.name}: unknown type {backend.type!r} ({known})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"backends.{backend.name}: type {backend.type!r} is not available here: {exc}"
        ) from exc
    build = getattr(module, "build", None)
    if not callable(build):
        raise ConfigError(f"backends.{backend.name}: {module_name} has no build()")
    return build


def build_connector(
    backend: BackendConfig, env: Mapping[str, str], *, client: aiohttp.ClientSession
) -> Connector:
    config: dict[str, Any] = {"type": backend.type, **backend.options}
    return builder(backend)(backend.name, config, env, client=client)


def check_types(config: ForwardingConfig) -> None:
    """Fail now, not at the first delivery, when a backend's type cannot be built."""
    for backend in config.backends.values():
        builder(backend)


def build_connectors(
    config: ForwardingConfig, env: Mapping[str, str], *, client: aiohttp.ClientSession
) -> dict[str, Connector]:
    return {
        name: build_connector(backend, env, client=client)
        for name, backend in config.backends.items()
    }
