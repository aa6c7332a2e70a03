"""The guard counts each hop once, before its session lock, however long that lock takes."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from tests.guard.helpers import URL, form, start
from tests.guard.test_limits import SW, fresh_window, limits
from tests.support.clock import FakeClock


async def phone_counts(redis_url: str) -> list[int]:
    client = aioredis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match="ussd:rl:phone:*")]
        return [int(await client.get(key)) for key in keys]
    finally:
        await client.aclose()


async def test_a_hop_waiting_for_its_lock_is_counted_once(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    window = 5.0
    clock = FakeClock()
    client = await start(
        aiohttp_client,
        clock=clock,
        database_url=sqlite_url,
        redis_url=redis_url,
        sections=limits(phone=(2, window)),
    )
    fresh_window(clock, window)
    data = form()
    holder = aioredis.from_url(redis_url)
    try:
        # another process holds this session's lock for a while: the hop retries the lock
        await holder.set(f"ussd:{{africastalking:{data['sessionId']}}}:lock", "other", px=300)
        response = await client.post(URL, data=data)
        assert (await response.text()).startswith("CON Karibu")
    finally:
        await holder.aclose()
    assert await phone_counts(redis_url) == [1]
    # the limit still holds: one more passes, the third is refused
    assert (await (await client.post(URL, data=form())).text()).startswith("CON Karibu")
    assert await (await client.post(URL, data=form())).text() == SW


async def test_concurrent_duplicates_still_advance_once(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    client = await start(aiohttp_client, database_url=sqlite_url, redis_url=redis_url)
    session = form()["sessionId"]
    assert (await (await client.post(URL, data=form(session_id=session))).text()).startswith(
        "CON Karibu"
    )
    replies = await asyncio.gather(
        *(client.post(URL, data=form(session_id=session, text="1")) for _ in range(5))
    )
    texts = {await r.text() for r in replies}
    assert len(texts) == 1 and next(iter(texts)).startswith("CON Aina ya mrejesho")
    nxt = await (await client.post(URL, data=form(session_id=session, text="1*1"))).text()
    assert "Chagua taasisi" in nxt
