"""The SMS channel against a real stand-in for Africa's Talking's SMS API (aiohttp, 127.0.0.1),
reached by the real SDK through ``AT_API_BASE_URL``; real databases, the real application."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.forwarding.conftest import StandIn, stand_in  # noqa: F401  (fixture)
from ussd_gateway.adapters.db.models import SmsMessage
from ussd_gateway.http.at_standin import AtStandIn
from ussd_gateway.http.sms.keys import SMS_OUTBOX

API_KEY = "test-api-key"
FAST_SMS: dict[str, Any] = {
    "sender_id": "eGA",
    "short_code": "15200",
    "poll_interval": 0.05,
    "retry": {"base_delay": 0.05, "backoff_factor": 2, "max_delay": 0.2, "jitter": 0.1},
}


class AtApi:
    """The stand-in and its server; ``url`` is what ``AT_API_BASE_URL`` gets."""

    def __init__(self, api: AtStandIn, server: TestServer) -> None:
        self.stand_in = api
        self.server = server

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def sent(self) -> list[dict[str, str]]:
        return self.stand_in.sent()


@pytest.fixture
async def at_api(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> AtApi:
    api = AtStandIn()
    return AtApi(api, await aiohttp_server(api.app()))


def sms_env(at_api: AtApi, backend: StandIn, **extra: str) -> dict[str, str]:
    return {
        "AT_USERNAME": "sandbox",
        "AT_API_KEY": API_KEY,
        "AT_API_BASE_URL": at_api.url,
        "BACKEND_FEEDBACK_URL": backend.url,
        "BACKEND_FEEDBACK_TOKEN": "backend-token",
        **extra,
    }


@pytest.fixture
async def sms_client(
    gateway: Callable[..., Awaitable[TestClient]],
    database_url: str,
    at_api: AtApi,
    stand_in: StandIn,  # noqa: F811
) -> TestClient:
    """The gateway with its in-process workers sending to the stand-in."""
    return await gateway(
        database_url=database_url,
        worker=True,
        sections={"sms": FAST_SMS},
        env=sms_env(at_api, stand_in),
    )


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, "did not happen in time"
        await asyncio.sleep(0.05)


async def message(client: TestClient, purpose: str) -> SmsMessage | None:
    return await client.app[SMS_OUTBOX].find(purpose)


async def settle(seconds: float = 0.4) -> None:
    """Give the worker a few more polls (to show something does NOT happen again)."""
    await asyncio.sleep(seconds)
