"""The hop deadline's wait, and the guard without a deadline (the hop runs without a task).

No PostgreSQL needed here: a hop is made slow by another process holding its session's lock.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from tests.guard.helpers import URL, form, start
from tests.guard.test_deadline import STILL_WORKING
from tests.guard.test_limits import SW, fresh_window, limits
from tests.support.clock import FakeClock
from ussd_gateway.application.guard import finished_within
from ussd_gateway.domain.ussd import UssdRequest
from ussd_gateway.http.keys import SESSIONS


def armed_timers(loop: asyncio.AbstractEventLoop) -> set[asyncio.TimerHandle]:
    """Timers still due on the (standard library's) loop the tests run on."""
    return {h for h in loop._scheduled if not h.cancelled()}  # type: ignore[attr-defined]


async def text(client, **fields: str) -> str:
    response = await client.post(URL, data=form(**fields))
    assert response.status == 200
    return await response.text()


async def test_a_fast_task_is_done_in_time_and_leaves_no_timer() -> None:
    loop = asyncio.get_running_loop()
    before = armed_timers(loop)
    task = asyncio.create_task(asyncio.sleep(0, "screen"))
    assert await finished_within(task, 30.0)
    assert task.result() == "screen"
    assert armed_timers(loop) == before


async def test_a_slow_task_is_reported_late_and_left_running() -> None:
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "late screen"

    task = asyncio.create_task(slow())
    assert not await finished_within(task, 0.05)
    assert not task.done()  # never cancelled: the hop runs on to its own end
    gate.set()
    assert await task == "late screen"


async def test_a_hop_past_the_deadline_gets_still_working_then_its_own_screen(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    client = await start(
        aiohttp_client,
        database_url=sqlite_url,
        redis_url=redis_url,
        sections={"limits": {"hop_deadline": 0.2}},
    )
    session = form()["sessionId"]
    holder = aioredis.from_url(redis_url)
    try:
        # another process holds the session's lock longer than the deadline
        await holder.set(f"ussd:{{africastalking:{session}}}:lock", "other", px=700)
        assert await text(client, session_id=session) == STILL_WORKING
    finally:
        await holder.aclose()
    store = client.app[SESSIONS]
    for _ in range(100):  # the late dial saves its session once the lock is free
        if await store.get(f"africastalking:{session}") is not None:
            break
        await asyncio.sleep(0.025)
    # "1. Continue": the stalled dial is replayed, and its screen shown, instead of the "1"
    assert (await text(client, session_id=session, text="1")).startswith("CON Karibu e-Mrejesho")
    # the memo is gone: the next entry is the citizen's own again
    assert (await text(client, session_id=session, text="1")).startswith("CON Aina ya mrejesho")


async def test_without_a_deadline_limits_still_refuse(
    aiohttp_client, sqlite_url, store_url
) -> None:
    window = 1.0
    clock = FakeClock()
    client = await start(
        aiohttp_client,
        clock=clock,
        database_url=sqlite_url,
        redis_url=store_url,
        sections=limits(phone=(2, window), hop_deadline=0),
    )
    fresh_window(clock, window)
    session = form()["sessionId"]
    assert (await text(client, session_id=session)).startswith("CON Karibu")
    assert (await text(client, session_id=session, text="1")).startswith("CON Aina ya mrejesho")
    assert await text(client, session_id=session, text="1*1") == SW


async def test_without_a_deadline_a_stalled_hop_is_still_replayed_once(
    aiohttp_client, sqlite_url, store_url
) -> None:
    """A stalled hop left by a process that has a deadline is replayed by one that has none."""
    client = await start(
        aiohttp_client,
        database_url=sqlite_url,
        redis_url=store_url,
        sections=limits(phone=(100, 60), hop_deadline=0),
    )
    session = form()["sessionId"]
    assert (await text(client, session_id=session)).startswith("CON Karibu")
    stalled = UssdRequest("africastalking", session, "*152*00#", "+255712345678", "64004", "1")
    store = client.app[SESSIONS]
    await store.stall(f"africastalking:{session}", stalled.dumps(), 60)
    # the citizen answers "1. Continue" on the still-working screen: the stalled "1" runs
    assert (await text(client, session_id=session, text="1")).startswith("CON Aina ya mrejesho")
    async with store.transaction(f"africastalking:{session}") as tx:
        assert tx.stalled is None  # forgotten once answered
    assert "Chagua taasisi" in await text(client, session_id=session, text="1*1")
