"""Abuse limits: a polite END past the limit, field limits, fail-open when Redis is gone."""

from __future__ import annotations

import asyncio
import logging

from tests.guard.helpers import URL, form, start
from tests.support.clock import FakeClock
from ussd_gateway.adapters.limits import RedisLimitState
from ussd_gateway.adapters.redis.client import connect
from ussd_gateway.http.keys import SESSIONS, SUBMISSIONS

SW = "END Samahani, maombi mengi kwa muda mfupi. Tafadhali jaribu tena baada ya dakika moja."
EN = "END Sorry, too many requests in a short time. Please try again in a minute."
OTHER = "+255754000111"


def limits(phone: tuple[int, float] = (0, 60), provider: tuple[int, float] = (0, 1), **more):
    return {
        "limits": {
            "phone": {"requests": phone[0], "window": phone[1]},
            "provider": {"requests": provider[0], "window": provider[1]},
            **more,
        }
    }


def fresh_window(clock: FakeClock, window: float) -> None:
    """Move to the start of the next window, so a short burst stays inside one."""
    clock.advance(window - clock.time() % window)


async def post(client, **kwargs: str) -> str:
    response = await client.post(URL, data=form(**kwargs))
    assert response.status == 200
    return await response.text()


async def test_phone_limit_answers_politely_in_the_citizens_language(
    aiohttp_client, sqlite_url, store_url
) -> None:
    window = 1.0
    clock = FakeClock()
    client = await start(
        aiohttp_client,
        clock=clock,
        database_url=sqlite_url,
        redis_url=store_url,
        sections=limits(phone=(3, window)),
    )
    store = client.app[SESSIONS]
    await store.remember_language(OTHER, "en")
    fresh_window(clock, window)
    for _ in range(3):
        assert (await post(client)).startswith("CON Karibu e-Mrejesho")
        assert (await post(client, number=OTHER)).startswith("CON Welcome to e-Mrejesho")
    limited = form()
    response = await client.post(URL, data=limited)
    assert response.status == 200 and await response.text() == SW
    assert await post(client, number=OTHER) == EN
    # the refused hop never reached the engine
    assert await store.get(f"africastalking:{limited['sessionId']}") is None

    fresh_window(clock, window)  # a new window: the same number passes again
    assert (await post(client)).startswith("CON Karibu e-Mrejesho")
    assert (await post(client, number=OTHER)).startswith("CON Welcome")


async def test_provider_limit_counts_every_number(aiohttp_client, sqlite_url, store_url) -> None:
    window = 1.0
    clock = FakeClock()
    client = await start(
        aiohttp_client,
        clock=clock,
        database_url=sqlite_url,
        redis_url=store_url,
        sections=limits(provider=(2, window)),
    )
    fresh_window(clock, window)
    assert (await post(client, number="+255711000001")).startswith("CON ")
    assert (await post(client, number="+255711000002")).startswith("CON ")
    assert await post(client, number="+255711000003") == SW


async def test_limited_journey_keeps_its_session(aiohttp_client, sqlite_url, store_url) -> None:
    """A citizen stopped mid-journey finds the session as it was when the window passes."""
    window = 1.0
    clock = FakeClock()
    client = await start(
        aiohttp_client,
        clock=clock,
        database_url=sqlite_url,
        redis_url=store_url,
        sections=limits(phone=(2, window)),
    )
    fresh_window(clock, window)
    session = form()["sessionId"]
    assert (await post(client, session_id=session)).startswith("CON Karibu")
    assert (await post(client, session_id=session, text="1")).startswith("CON Aina ya mrejesho")
    assert await post(client, session_id=session, text="1*1") == SW
    fresh_window(clock, window)
    assert "Chagua taasisi" in await post(client, session_id=session, text="1*1")


async def test_field_and_body_limits(aiohttp_client, sqlite_url) -> None:
    client = await start(
        aiohttp_client,
        database_url=sqlite_url,
        sections=limits(fields={"text": 50}, max_body=2048),
    )
    data = form(text="1*" + "a" * 60)
    response = await client.post(URL, data=data)
    assert response.status == 400
    assert await response.text() == "bad request: text longer than 50 characters\n"
    assert await client.app[SESSIONS].get(f"africastalking:{data['sessionId']}") is None
    big = await client.post(URL, data=form(text="a" * 3000))
    assert big.status == 400 and "larger than 2048" in await big.text()
    assert await client.app[SUBMISSIONS].count() == 0


async def test_dead_redis_does_not_block_citizens(isolated_redis_server, caplog) -> None:
    state = RedisLimitState(client=connect(isolated_redis_server.url))
    try:
        assert await state.count_soon([("k1", 1.0), ("k2", 1.0)]) == [1, 1]
        assert await state.count_soon([("k1", 1.0)]) == [2]
        isolated_redis_server.stop()
        with caplog.at_level(logging.WARNING):
            failed = state.count_soon([("k1", 1.0), ("k2", 1.0)])
            await asyncio.wait([failed])
            assert failed.exception() is not None  # no counts: nobody is limited for it
        assert any("not limiting" in r.getMessage() for r in caplog.records)
    finally:
        await state.client.aclose()
