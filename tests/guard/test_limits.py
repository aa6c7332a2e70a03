"""Abuse limits: a polite END past the limit, field limits, fail-open when Redis is gone."""

from __future__ import annotations

import asyncio
import logging

from tests.guard.helpers import URL, form, start
from tests.support.clock import FakeClock
from ussd_gateway.adapters.limits import FREE_COPIES, RedisLimitState
from ussd_gateway.adapters.redis.client import connect
from ussd_gateway.http.keys import SESSIONS, SUBMISSIONS

SW = (
    "END Samahani, umetuma maombi mengi kwa muda mfupi. Tafadhali jaribu tena baada ya dakika moja."
)
EN = "END Sorry, you sent too many requests in a short time. Please try again in a minute."
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


async def test_three_spellings_of_a_number_share_one_budget(
    aiohttp_client, sqlite_url, store_url
) -> None:
    """Aggregators spell one citizen ``+255…``, ``255…`` or ``0…``: one budget, not three."""
    window = 60.0
    clock = FakeClock()
    client = await start(
        aiohttp_client,
        clock=clock,
        database_url=sqlite_url,
        redis_url=store_url,
        sections=limits(phone=(3, window)),
    )
    fresh_window(clock, window)
    for number in ("+255789718944", "0789718944", "255789718944"):
        assert (await post(client, number=number)).startswith("CON Karibu e-Mrejesho")
    for number in ("+255789718944", "0789718944", "255789718944", "+255 789 718 944"):
        assert await post(client, number=number) == SW
    assert (await post(client, number=OTHER)).startswith("CON Karibu")  # nobody else


async def test_a_providers_repeated_copy_of_a_hop_counts_once(
    aiohttp_client, sqlite_url, store_url
) -> None:
    """Aggregators resend a hop they got no answer for: the copy costs the citizen nothing,
    and the copy of the last hop the limit allows gets its screen, not the limit's END."""
    window = 60.0
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
    for _ in range(3):  # the first hop and two copies of it
        assert (await post(client, session_id=session)).startswith("CON Karibu e-Mrejesho")
    assert (await post(client, session_id=session, text="1")).startswith("CON Aina ya mrejesho")
    other = form()["sessionId"]  # the same number dials again: over its limit
    assert await post(client, session_id=other) == SW

    fresh_window(clock, window)
    last = form()["sessionId"]
    assert (await post(client, session_id=last)).startswith("CON Karibu")
    assert (await post(client, session_id=last, text="1")).startswith("CON Aina ya mrejesho")
    assert await post(client, session_id=form()["sessionId"]) == SW  # a new hop: over
    # a copy of the last hop the limit let through is judged as that hop was
    for _ in range(FREE_COPIES):
        assert (await post(client, session_id=last, text="1")).startswith("CON ")
    # a few copies, not endless ones: resending a hop is no way around the limit
    assert await post(client, session_id=last, text="1") == SW


async def test_copies_are_free_only_a_few_times(isolated_redis_server) -> None:
    """A request's copies are counted once, up to ``FREE_COPIES``; endless copies still count."""
    from ussd_gateway.adapters.limits import MemoryLimitState, Once

    redis_state = RedisLimitState(client=connect(isolated_redis_server.url))
    try:
        for state in (MemoryLimitState(), redis_state):
            hop = Once("copy-of-one-hop", 60.0)
            assert await state.count_soon([("n", 60.0)], hop) == [1]
            for _ in range(FREE_COPIES):
                assert await state.count_soon([("n", 60.0)], hop) == [1]
            assert await state.count_soon([("n", 60.0)], hop) == [2]
            assert await state.count_soon([("n", 60.0)], Once("another", 60.0)) == [3]
            assert await state.count_soon([("n", 60.0)]) == [4]
    finally:
        await redis_state.client.aclose()
