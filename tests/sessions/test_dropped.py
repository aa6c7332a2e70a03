"""The stores' index of journeys in progress (``SessionStore.dropped``): what the dropped-call
nudge sweeps. Each stalled journey is handed out once, also to two processes asking at once."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from ussd_gateway.adapters.sessions import MemorySessionStore, RedisSessionStore, SessionStore
from ussd_gateway.domain.session import Session, SessionStatus

T0 = 1_800_000_000.0


def journey(phone: str, at: float, **changes: object) -> Session:
    session = Session(
        key=f"at:{phone}",
        service="emrejesho",
        phone=phone,
        language="sw",
        screen="describe",
        history=["start", "institution"],
        hops=3,
        started_at=at,
        updated_at=at,
    )
    for name, value in changes.items():
        setattr(session, name, value)
    return session


async def save(store: SessionStore, session: Session) -> None:
    async with store.transaction(session.key) as tx:
        tx.session = session


async def check(store: SessionStore, other: SessionStore) -> None:
    await save(store, journey("+255712000001", T0))
    await save(store, journey("+255712000002", T0 + 50))
    await save(store, journey("+255712000003", T0))
    # finished after all: no longer in the index
    await save(store, journey("+255712000003", T0 + 1, status=SessionStatus.COMPLETED))
    assert await store.dropped("emrejesho", T0 - 1) == []
    assert await store.dropped("other", T0 + 100) == []
    one, two = await asyncio.gather(
        store.dropped("emrejesho", T0 + 10), other.dropped("emrejesho", T0 + 10)
    )
    assert sorted(s.phone for s in one + two) == ["+255712000001"]  # handed out once
    assert await store.dropped("emrejesho", T0 + 10) == []
    # it moves again (resumed) and stalls anew: found again
    await save(store, journey("+255712000001", T0 + 20))
    found = await other.dropped("emrejesho", T0 + 60)
    assert sorted(s.phone for s in found) == ["+255712000001", "+255712000002"]


async def test_memory_store_hands_out_each_stalled_journey_once() -> None:
    store = MemorySessionStore(resume_window=300)
    await check(store, store)


async def test_redis_stores_hand_out_each_stalled_journey_once(redis_url: str) -> None:
    first = RedisSessionStore(client=aioredis.from_url(redis_url), owns_client=True)
    second = RedisSessionStore(client=aioredis.from_url(redis_url), owns_client=True)
    await first.client.delete(first.keys.dropped("emrejesho"))
    try:
        await check(first, second)
    finally:
        await first.close()
        await second.close()
