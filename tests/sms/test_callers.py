"""Who may call the SMS callbacks (``sms.auth``) and how many messages they take (``sms.limits``).

The real application with its SMS channel sending to the Africa's Talking stand-in, called from
a chosen source address (tests/guard/helpers.py).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from aiohttp.test_utils import TestClient

from tests.forwarding.conftest import StandIn
from tests.guard.helpers import start
from tests.sms.conftest import FAST_SMS, AtApi, eventually, settle, sms_env
from tests.support.clock import FakeClock
from ussd_gateway.http.keys import SUBMISSIONS
from ussd_gateway.http.sms.keys import SMS_OUTBOX
from ussd_gateway.ports.clock import SYSTEM_CLOCK, Clock

TOKEN = "sms-s3cret-path"
SECRETS = {"SMS_CALLBACK_TOKEN": TOKEN, "SMS_CALLBACK_PASSWORD": "pa55"}
CITIZEN = "+255754000111"
SPOOFED = {"from": "+255712000780", "to": "15200", "text": "MREJESHO spoofed", "id": "x1"}
"""The fault campaign's request: a named submission under someone else's number."""


def basic(login: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


RIGHT = basic("at", "pa55")


def inbound(text: str, id: str, number: str = CITIZEN) -> dict[str, str]:
    return {"from": number, "to": "15200", "text": text, "date": "2026-12-01 10:00:00", "id": id}


async def gateway(
    aiohttp_client: Any,
    sqlite_url: str,
    at_api: AtApi,
    stand_in: StandIn,
    *,
    auth: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    source: str = "127.0.0.1",
    clock: Clock = SYSTEM_CLOCK,
    redis_url: str | None = None,
) -> TestClient:
    sms: dict[str, Any] = dict(FAST_SMS)
    if auth is not None:
        sms["auth"] = auth
    if limits is not None:
        sms["limits"] = limits
    return await start(
        aiohttp_client,
        database_url=sqlite_url,
        redis_url=redis_url,
        sections={"sms": sms},
        env={**sms_env(at_api, stand_in), **SECRETS},
        source=source,
        clock=clock,
    )


async def submissions(client: TestClient) -> int:
    return await client.app[SUBMISSIONS].count(channel="sms")


async def test_spoofed_inbound_is_refused_when_auth_is_configured(
    aiohttp_client, sqlite_url, at_api: AtApi, stand_in: StandIn
) -> None:
    client = await gateway(
        aiohttp_client,
        sqlite_url,
        at_api,
        stand_in,
        auth={"path_token_env": "SMS_CALLBACK_TOKEN", "basic": {"username": "at"}},
    )
    outbox = client.app[SMS_OUTBOX]
    for path, headers in (
        ("/sms/inbound", {}),  # the campaign's request, as it was sent
        ("/sms/inbound", RIGHT),  # right password, no secret path
        (f"/sms/inbound/{TOKEN}", {}),  # secret path, no password
        (f"/sms/inbound/{TOKEN}x", RIGHT),
        (f"/sms/inbound/{TOKEN}", basic("at", "wrong")),
    ):
        response = await client.post(path, data=SPOOFED, headers=headers)
        assert (response.status, await response.text()) == (401, ""), path
    opt_out = inbound("ACHA", "x2")  # someone else's opt-out
    assert (await client.post("/sms/inbound", data=opt_out)).status == 401
    report = {"id": "ATXid_1", "status": "Failed", "phoneNumber": CITIZEN}
    assert (await client.post("/sms/delivery", data=report)).status == 401

    await settle()
    assert await submissions(client) == 0
    assert await outbox.find("reply:x1") is None and at_api.sent() == []
    assert not await outbox.opted_out(CITIZEN)

    # the aggregator, on the secret path with its password, is served as before
    right = await client.post(f"/sms/inbound/{TOKEN}", data=SPOOFED, headers=RIGHT)
    assert (right.status, await right.text()) == (200, "OK")
    assert await submissions(client) == 1
    await eventually(lambda: at_api.sent())
    assert at_api.sent()[0]["message"].startswith("e-Mrejesho: ujumbe wako umepokelewa")
    delivered = await client.post(f"/sms/delivery/{TOKEN}", data=report, headers=RIGHT)
    assert delivered.status == 200


async def test_sms_callers_are_checked_against_the_allowlist_behind_trusted_proxies(
    aiohttp_client, sqlite_url, at_api: AtApi, stand_in: StandIn
) -> None:
    client = await gateway(
        aiohttp_client,
        sqlite_url,
        at_api,
        stand_in,
        auth={"allow": ["198.51.100.0/24"], "trusted_proxies": ["127.0.0.1/32"]},
    )
    for forwarded in ("203.0.113.9", "198.51.100.7, 203.0.113.9", "not-an-address", None):
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        response = await client.post("/sms/inbound", data=SPOOFED, headers=headers)
        assert (response.status, await response.text()) == (403, ""), forwarded
    assert await submissions(client) == 0
    ok = await client.post(
        "/sms/inbound", data=SPOOFED, headers={"X-Forwarded-For": "198.51.100.7"}
    )
    assert ok.status == 200 and await submissions(client) == 1


def sms_warnings(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("SMS callback")]


async def test_open_sms_callbacks_are_named_at_start(
    aiohttp_client, sqlite_url, at_api: AtApi, stand_in: StandIn, caplog
) -> None:
    with caplog.at_level(logging.WARNING):
        await gateway(aiohttp_client, sqlite_url, at_api, stand_in)
    warnings = sms_warnings(caplog)
    assert [w.split()[2] for w in warnings] == ["/sms/delivery", "/sms/inbound"]
    assert "is unauthenticated" in warnings[0] and "configure sms.auth" in warnings[0]

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        await gateway(aiohttp_client, sqlite_url, at_api, stand_in, auth={"allow": ["10.0.0.0/8"]})
    assert sms_warnings(caplog) == []


def test_serve_names_each_open_sms_callback_in_its_start_up_warning(serve) -> None:
    output = serve().output()
    for route in ("/sms/inbound", "/sms/delivery"):
        assert f"SMS callback {route} is unauthenticated" in output, output


async def test_a_number_over_its_limit_is_acknowledged_and_dropped(
    aiohttp_client, sqlite_url, store_url, at_api: AtApi, stand_in: StandIn
) -> None:
    """Past ``sms.limits.phone``, a 200 (the aggregator must not retry a flood) and nothing
    else: no submission, no reply. One number however it is spelt; a retried id counts once."""
    window = 600.0
    clock = FakeClock()
    clock.advance(window - clock.time() % window)
    client = await gateway(
        aiohttp_client,
        sqlite_url,
        at_api,
        stand_in,
        limits={"phone": {"requests": 2, "window": window}},
        clock=clock,
        redis_url=store_url,
    )
    for data in (
        inbound("MREJESHO Maji hayatoki", "a1"),
        inbound("MREJESHO Maji hayatoki", "a1"),  # Africa's Talking retrying: counted once
        inbound("MREJESHO Barabara mbovu", "a2", number="255754000111"),
        inbound("MREJESHO Tatu", "a3", number="0754000111"),  # over the limit
        inbound("ACHA", "a4"),
    ):
        response = await client.post("/sms/inbound", data=data)
        assert (response.status, await response.text()) == (200, "OK")
    other = await client.post("/sms/inbound", data=inbound("MREJESHO Umeme", "b1", "+255754999000"))
    assert other.status == 200

    await eventually(lambda: len(at_api.sent()) >= 3)
    await settle()
    assert sorted(m["to"] for m in at_api.sent()) == [CITIZEN, CITIZEN, "+255754999000"]
    assert await submissions(client) == 3
    outbox = client.app[SMS_OUTBOX]
    assert await outbox.find("reply:a3") is None and not await outbox.opted_out(CITIZEN)

    clock.advance(window)  # the next window: the number is served again
    again = await client.post("/sms/inbound", data=inbound("MREJESHO Tena", "a5"))
    assert again.status == 200 and await submissions(client) == 4


async def test_a_source_over_its_limit_gets_429_with_retry_after(
    aiohttp_client, sqlite_url, store_url, at_api: AtApi, stand_in: StandIn
) -> None:
    window = 60.0
    clock = FakeClock()
    clock.advance(window - clock.time() % window + 15)  # 45 s of the window left
    client = await gateway(
        aiohttp_client,
        sqlite_url,
        at_api,
        stand_in,
        limits={"source": {"requests": 2, "window": window}},
        clock=clock,
        redis_url=store_url,
    )
    for n in (1, 2):
        data = inbound("MREJESHO Maji", f"s{n}", number=f"+25575400000{n}")
        assert (await client.post("/sms/inbound", data=data)).status == 200
    third = inbound("MREJESHO Maji", "s3", number="+255754000003")
    refused = await client.post("/sms/inbound", data=third)
    assert refused.status == 429 and refused.headers["Retry-After"] == "45"
    assert await refused.text() == "too many requests: retry after 45 s\n"
    assert await submissions(client) == 2

    clock.advance(45)  # the aggregator's retry, in the next window, is served: nothing lost
    retried = await client.post("/sms/inbound", data=third)
    assert (retried.status, await retried.text()) == (200, "OK")
    assert await submissions(client) == 3
