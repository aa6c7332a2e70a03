"""Shared fixtures: real Redis and real SQL databases, started by the tests themselves."""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from tests.support.phone import Phone
from tests.support.serve import ServeProcesses, Server
from ussd_gateway.config.settings import SessionSettings, Settings, read_settings
from ussd_gateway.http.app import create_app
from ussd_gateway.ports.clock import SYSTEM_CLOCK

pytest_plugins = [
    "tests.support.redis_server",
    "tests.support.databases",
]

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "gateway.yaml"


MREJESHO_CODES = {"*152*00#": "mrejesho"}
"""Most tests walk e-Mrejesho from the dial; the shipped config puts the government directory
on *152*00# (tests/test_directory.py), so they get e-Mrejesho there unless they ask otherwise."""


def project_settings(
    *,
    sections: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    **changes: Any,
) -> Settings:
    """The shipped configuration, read by the real loader with ``sections`` in place of the
    file's top-level sections of the same name and ``env`` as the environment (none by
    default), then any Settings ``changes`` a test asks for (``service_codes`` defaults to
    ``MREJESHO_CODES``; ``shipped_settings`` keeps the file's)."""
    changes.setdefault("service_codes", MREJESHO_CODES)
    return shipped_settings(sections=sections, env=env, **changes)


def shipped_settings(
    *,
    sections: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    **changes: Any,
) -> Settings:
    """The shipped configuration as in config/gateway.yaml (the directory included), with the
    same ``sections``, ``env`` and ``changes`` as ``project_settings``."""
    document = {**shipped_document(), **(sections or {})}
    settings = read_settings(document, env=dict(env or {}), path=CONFIG)
    return dataclasses.replace(settings, **changes)


def shipped_document() -> dict[str, Any]:
    """config/gateway.yaml parsed (a fresh copy: tests may change it)."""
    return copy.deepcopy(_shipped_document())


@functools.cache
def _shipped_document() -> dict[str, Any]:
    return dict(yaml.safe_load(CONFIG.read_text(encoding="utf-8")))


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None for the in-process store, a real Redis URL for the Redis store."""
    if request.param == "memory":
        return None
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


GatewayFactory = Callable[..., Any]


@pytest.fixture
def gateway(
    aiohttp_client: Callable[..., Any], store_url: str | None, sqlite_url: str
) -> GatewayFactory:
    """Start the real application (real store, real database) and return a test client.

    Keyword arguments change settings: ``ttl`` and ``resume_window`` for sessions,
    ``sections`` and ``env`` as in ``project_settings``, any Settings field otherwise;
    ``clock`` is the clock the app reads (tests/support/clock.py).
    """

    async def start(**changes: Any) -> TestClient:
        sessions = SessionSettings(
            ttl=changes.pop("ttl", 180.0),
            resume_window=changes.pop("resume_window", 300.0),
            nudge_interval=changes.pop("nudge_interval", 0.0),  # tests sweep when they ask to
        )
        changes.setdefault("database_url", sqlite_url)
        changes.setdefault("redis_url", store_url)
        worker = changes.pop("worker", False)  # tests deliver only when they ask to
        clock = changes.pop("clock", SYSTEM_CLOCK)
        settings = project_settings(sessions=sessions, **changes)
        return await aiohttp_client(create_app(settings, worker=worker, clock=clock))

    return start


@pytest.fixture
async def client(gateway: GatewayFactory) -> AsyncIterator[TestClient]:
    yield await gateway()


@pytest.fixture
def phone(client: TestClient) -> Phone:
    return Phone(client)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``ussd-gateway serve`` processes on a copy of the project (its config and menus)."""
    processes = ServeProcesses(tmp_path)
    yield processes.start
    processes.stop_all()
