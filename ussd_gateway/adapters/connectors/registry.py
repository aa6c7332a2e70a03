"""Connector types by name: ``type: http`` in a backend's configuration finds ``http``.

Each connector module exposes ``check(backend)``, reading the backend's own options with the
configuration reader (no network, no files), and ``build(backend, *, client) -> Connector``.
Modules are imported when first needed, so a type whose module is absent fails with a
configuration error naming the backend, not at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

import aiohttp

from ussd_gateway.adapters.connectors.base import Connector
from ussd_gateway.config.backends import BackendConfig, ForwardingConfig
from ussd_gateway.config.kinds import shown
from ussd_gateway.config.loader import ConfigError

CONNECTOR_TYPES: Mapping[str, str] = {
    "http": "ussd_gateway.adapters.connectors.http",
    "govesb": "ussd_gateway.adapters.connectors.govesb",
}
"""type → module exposing ``check`` and ``build``."""


def connector_module(backend: BackendConfig) -> ModuleType:
    where = f"{backend.source}: {backend.path}.type"
    module_name = CONNECTOR_TYPES.get(backend.type)
    if module_name is None:
        known = ", ".join(sorted(CONNECTOR_TYPES))
        raise ConfigError(f"{where}: expected one of {known}, got {shown(backend.type)}")
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{where}: {backend.type} is not available here: {exc}") from exc


def check_backends(config: ForwardingConfig) -> None:
    """Fail at start-up, not at the first delivery: every backend's type exists and its own
    options read; every problem of every backend is reported at once."""
    problems: list[str] = []
    for backend in config.backends.values():
        try:
            connector_module(backend).check(backend)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(*problems)


def build_connector(backend: BackendConfig, *, client: aiohttp.ClientSession) -> Connector:
    connector: Connector = connector_module(backend).build(backend, client=client)
    return connector


def build_connectors(
    config: ForwardingConfig, *, client: aiohttp.ClientSession
) -> dict[str, Connector]:
    return {
        name: build_connector(backend, client=client) for name, backend in config.backends.items()
    }
