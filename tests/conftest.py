"""Shared fixtures: real Redis and real SQL databases, started by the tests themselves."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.support.phone import Phone
from tests.support.serve import ServeProcesses, Server
from ussd_gateway.config.settings import SessionSettings, Settings, load_settings
from ussd_gateway.http.app import create_app
from ussd_gateway.ports.clock import SYSTEM_CLOCK

pytest_plugins = [
    "tests.support.redis_server",
    "tests.support.databases",
]

ROOT = Path(__file__).resolve().parents[1]


MREJESHO_CODES = {"*152*00#": "mrejesho"}
"""Most tests walk e-Mrejesho from the dial; the shipped config puts the government directory
on *152*00# (tests/test_directory.py), so they get e-Mrejesho there unless they ask otherwise."""


def project_settings(**changes: Any) -> Settings:
    """The shipped configuration, with no environment, and any changes a test asks for
    (``service_codes`` defaults to ``MREJESHO_CODES``; ``shipped_settings`` keeps the file's)."""
    settings = load_settings(ROOT / "config" / "gateway.yaml", env={})
    changes.setdefault("service_codes", MREJESHO_CODES)
    return dataclasses.replace(settings, **changes)


def shipped_settings(**changes: Any) -> Settings:
    """The shipped configuration exactly as in config/gateway.yaml (the directory included)."""
    settings = load_settings(ROOT / "config" / "gateway.yaml", env={})
    return dataclasses.replace(settings, **changes)


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

    Keyword arguments change settings: ``ttl`` and ``resume_window`` for sessions, any
    Settings field otherwise; ``clock`` is the clock the app reads (tests/support/clock.py).
    """

    async def start(**changes: Any) -> TestClient:
        sessions = SessionSettings(
            ttl=changes.pop("ttl", 180.0), resume_window=changes.pop("resume_window", 300.0)
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
