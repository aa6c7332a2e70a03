"""A hop leaves no reference cycles behind.

Every cycle a hop makes is freed only by the garbage collector, and with thousands of hops a
second those passes were most of the gateway's p99 (a GuardAdmission and its piggyback's bound
method: 8 objects per hop; docs/performance.md, round 5). Reference counting must free a hop.
"""

from __future__ import annotations

import gc

import pytest

from tests.guard.helpers import URL, form, start


def our_garbage() -> list[str]:
    """Type names of the gateway's own objects that only the collector could free."""
    gc.collect()
    return [
        type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith("ussd_gateway")
    ]


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_hops_leave_no_cycles_for_the_collector(
    aiohttp_client, sqlite_url, redis_url, store: str
) -> None:
    client = await start(
        aiohttp_client,
        database_url=sqlite_url,
        redis_url=redis_url if store == "redis" else None,
        sections={"limits": {"phone": {"requests": 1000, "window": 60}, "hop_deadline": 2.5}},
    )
    for entries in ([""], ["", "1"]):  # warm up: first-use caches, connections, the script cache
        session = form()["sessionId"]
        for text in entries:
            await client.post(URL, data=form(session_id=session, text=text))
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.garbage.clear()
        for n in range(30):  # 90 hops
            session = form()["sessionId"]
            for text in ("", "1", "1*1"):  # a dial, then plain hops
                response = await client.post(URL, data=form(session_id=session, text=text))
                assert response.status == 200, n
                assert (await response.text()).startswith("CON")
        # a one-off (a warm-up hop's finished task) may be there; a cycle per hop would be 90+
        assert len(our_garbage()) <= 2, our_garbage()
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
