"""Behaviour of both session stores, against a real Redis server for the Redis one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from tests.support.clock import FakeClock, later
from ussd_gateway.adapters.sessions import (
    Arrival,
    KeyBuilder,
    MemorySessionStore,
    RedisSessionStore,
    SessionBusy,
    SessionStore,
    StoreUnavailable,
    create_store,
)
from ussd_gateway.domain.session import Session, SessionStatus

PHONE = "+255712345678"
KEY = "at:ATUid_1"


def new_session(key: str = KEY, **changes) -> Session:
    fields = {"service": "emrejesho", "phone": PHONE, "language": "sw", "screen": "start"}
    fields.update(changes)
    return Session(key=key, **fields)


def journey(key: str = KEY, **changes) -> Session:
    """A session the citizen has made progress in (``in_journey``)."""
    fields = {"screen": "describe", "history": ["start", "institution"], "hops": 3}
    fields.update(changes)
    return new_session(key, **fields)


async def save(store: SessionStore, session: Session) -> None:
    async with store.transaction(session.key) as tx:
        tx.session = session


StoreFactory = Callable[..., SessionStore]


@pytest.fixture(params=["memory", "redis"])
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[StoreFactory]:
    """Builds stores of one kind; the Redis kind talks to the shared real server."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    stores: list[SessionStore] = []
    clock = FakeClock()

    def make(*, ttl: float = 60.0, resume_window: float = 60.0, **options) -> SessionStore:
        store: SessionStore
        if url is None:
            options.setdefault("clock", clock.monotonic)
            store = MemorySessionStore(ttl=ttl, resume_window=resume_window, **options)
        else:
            client = aioredis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            store = RedisSessionStore(
                client=client, ttl=ttl, resume_window=resume_window, owns_client=True, **options
            )
        stores.append(store)
        return store

    async def wait(seconds: float) -> None:
        await later(clock, seconds, redis=url is not None)

    make.later = wait  # type: ignore[attr-defined]
    yield make
    for store in stores:
        await store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> SessionStore:
    return make_store()


# -- saving and loading ----------------------------------------------------------------------


async def test_unknown_session_loads_as_none(store: SessionStore) -> None:
    async with store.transaction("nope") as tx:
        assert tx.session is None
        assert tx.original is None
    assert await store.get("nope") is None


async def test_saved_session_round_trips(store: SessionStore) -> None:
    session = journey(vars={"institution": "TRA", "amount": 1500}, page=2, last_reply="Asante")
    await save(store, session)

    assert await store.get(KEY) == session
    async with store.transaction(KEY) as tx:
        assert tx.session == session
        assert tx.original is tx.session


async def test_callers_mutating_sessions_do_not_change_the_store(store: SessionStore) -> None:
    session = new_session(vars={"a": 1})
    await save(store, session)
    session.vars["a"] = 2
    session.history.append("elsewhere")

    loaded = await store.get(KEY)
    assert loaded is not None
    assert loaded.vars == {"a": 1}
    assert loaded.history == []
    loaded.vars["a"] = 3
    assert (await store.get(KEY)).vars == {"a": 1}  # type: ignore[union-attr]


async def test_unchanged_transaction_does_not_write(store: SessionStore) -> None:
    await save(store, new_session(hops=1))
    async with store.transaction(KEY) as tx:
        assert tx.session is not None
    assert (await store.get(KEY)).hops == 1  # type: ignore[union-attr]


async def test_failed_transaction_saves_nothing_and_unlocks(store: SessionStore) -> None:
    await save(store, new_session(hops=1))
    with pytest.raises(ValueError, match="menu bug"):
        async with store.transaction(KEY) as tx:
            tx.session = new_session(hops=99)
            raise ValueError("menu bug")

    assert (await store.get(KEY)).hops == 1  # type: ignore[union-attr]
    async with asyncio.timeout(1):  # the lock was released: no waiting for it to expire
        async with store.transaction(KEY) as tx:
            assert tx.session is not None
            assert tx.session.hops == 1


# -- expiry ----------------------------------------------------------------------------------


async def test_session_expires_after_ttl(make_store: StoreFactory) -> None:
    store = make_store(ttl=0.3)
    await save(store, new_session())
    assert await store.get(KEY) is not None

    await make_store.later(0.5)  # type: ignore[attr-defined]
    assert await store.get(KEY) is None
    async with store.transaction(KEY) as tx:
        assert tx.session is None


async def test_each_save_refreshes_the_ttl(make_store: StoreFactory) -> None:
    store = make_store(ttl=0.6)
    later = make_store.later  # type: ignore[attr-defined]
    await save(store, new_session(hops=1))
    await later(0.4)
    await save(store, new_session(hops=2))
    await later(0.4)  # 0.8 s after the first save, 0.4 s after the second
    assert (await store.get(KEY)).hops == 2  # type: ignore[union-attr]

    await later(0.4)
    assert await store.get(KEY) is None


# -- locking ---------------------------------------------------------------------------------


async def test_concurrent_hops_on_one_session_are_serialised(store: SessionStore) -> None:
    await save(store, new_session(hops=0))

    async def hop() -> None:
        async with store.transaction(KEY) as tx:
            assert tx.session is not None
            seen = tx.session.copy()
            await asyncio.sleep(0.05)
            seen.hops += 1
            tx.session = seen

    await asyncio.gather(hop(), hop())
    assert (await store.get(KEY)).hops == 2  # type: ignore[union-attr]


async def test_second_copy_of_a_hop_sees_the_first_ones_result(store: SessionStore) -> None:
    """Two copies of the first hop: only one may create the session."""
    created: list[bool] = []

    async def first_hop() -> None:
        async with store.transaction(KEY) as tx:
            created.append(tx.session is None)
            if tx.session is None:
                await asyncio.sleep(0.05)
                tx.session = new_session(hops=1)

    await asyncio.gather(first_hop(), first_hop())
    assert sorted(created) == [False, True]


async def test_different_sessions_do_not_block_each_other(store: SessionStore) -> None:
    holding = asyncio.Event()
    done = asyncio.Event()

    async def slow_hop() -> None:
        async with store.transaction("at:a") as tx:
            holding.set()
            await done.wait()
            tx.session = new_session("at:a")

    task = asyncio.create_task(slow_hop())
    await holding.wait()
    async with asyncio.timeout(1):
        await save(store, new_session("at:b"))
    done.set()
    await task
    assert await store.get("at:a") is not None
    assert await store.get("at:b") is not None


async def test_waiting_too_long_for_the_lock_raises_session_busy(make_store: StoreFactory) -> None:
    store = make_store(lock_wait=0.2)
    holding = asyncio.Event()
    done = asyncio.Event()

    async def stuck_hop() -> None:
        async with store.transaction(KEY):
            holding.set()
            await done.wait()

    task = asyncio.create_task(stuck_hop())
    await holding.wait()
    started = time.monotonic()
    with pytest.raises(SessionBusy):
        async with store.transaction(KEY):
            pass
    assert 0.15 <= time.monotonic() - started < 1.5
    assert issubclass(SessionBusy, StoreUnavailable)
    done.set()
    await task
    async with asyncio.timeout(1):
        await save(store, new_session())


# -- resumption ------------------------------------------------------------------------------


async def test_journey_in_progress_is_kept_for_resumption(store: SessionStore) -> None:
    session = journey()
    assert session.in_journey
    await save(store, session)

    assert await store.resumable("emrejesho", PHONE) == session
    assert await store.resumable("emrejesho", "+255700000000") is None
    assert await store.resumable("other-service", PHONE) is None


async def test_session_without_progress_leaves_no_resume_copy(store: SessionStore) -> None:
    await save(store, new_session(hops=1))
    assert await store.resumable("emrejesho", PHONE) is None


async def test_finished_journey_drops_its_resume_copy(store: SessionStore) -> None:
    await save(store, journey())
    await save(store, journey(status=SessionStatus.COMPLETED))
    assert await store.resumable("emrejesho", PHONE) is None


async def test_resume_copy_is_kept_while_an_offer_is_pending(store: SessionStore) -> None:
    dropped = journey("at:dropped")
    await save(store, dropped)

    # The new call's first screen offers to resume: no progress yet, resume_from set.
    await save(store, new_session("at:new", hops=1, resume_from="at:dropped"))
    assert await store.resumable("emrejesho", PHONE) == dropped

    # The citizen declined and the new call moved on without the offer: the copy goes.
    await save(store, new_session("at:new", hops=1))
    assert await store.resumable("emrejesho", PHONE) is None


async def test_forget_resumable(store: SessionStore) -> None:
    await save(store, journey())
    await store.forget_resumable("emrejesho", PHONE)
    assert await store.resumable("emrejesho", PHONE) is None
    await store.forget_resumable("emrejesho", PHONE)  # forgetting twice is fine


async def test_resume_copy_expires_after_the_window(make_store: StoreFactory) -> None:
    store = make_store(ttl=60.0, resume_window=0.3)
    await save(store, journey())
    assert await store.resumable("emrejesho", PHONE) is not None
    await make_store.later(0.5)  # type: ignore[attr-defined]
    assert await store.resumable("emrejesho", PHONE) is None
    assert await store.get(KEY) is not None  # the session itself has its own, longer TTL


async def test_new_session_arrives_with_language_and_dropped_journey(store: SessionStore) -> None:
    dropped = journey("at:dropped")
    await save(store, dropped)
    await store.remember_language(PHONE, "en")

    async with store.transaction("at:new", Arrival("emrejesho", PHONE)) as tx:
        assert tx.session is None
        assert tx.prefetched
        assert tx.language == "en"
        assert tx.resumable == dropped

    async with store.transaction("at:other", Arrival("emrejesho", "+255700000000")) as tx:
        assert tx.prefetched
        assert (tx.language, tx.resumable) == (None, None)


async def test_existing_session_is_not_prefetched_for(store: SessionStore) -> None:
    await save(store, journey())
    await store.remember_language(PHONE, "en")
    async with store.transaction(KEY, Arrival("emrejesho", PHONE)) as tx:
        assert tx.session is not None
        assert not tx.prefetched
        assert (tx.language, tx.resumable) == (None, None)


async def test_prefetching_transaction_still_serialises_hops(store: SessionStore) -> None:
    order: list[str] = []

    async def hop(name: str) -> None:
        async with store.transaction(KEY, Arrival("emrejesho", PHONE)) as tx:
            order.append(f"{name} in, saw {tx.session.screen if tx.session else None}")
            await asyncio.sleep(0.05)
            tx.session = new_session(screen=name)
            order.append(f"{name} out")

    await asyncio.gather(hop("a"), hop("b"))
    assert order[1].endswith("out") and order[3].endswith("out"), order
    assert order[2].endswith(f"saw {order[0][0]}"), order


# -- language memory -------------------------------------------------------------------------


async def test_language_is_remembered_per_number(store: SessionStore) -> None:
    assert await store.language(PHONE) is None
    await store.remember_language(PHONE, "en")
    await store.remember_language("+255700000000", "sw")
    assert await store.language(PHONE) == "en"
    await store.remember_language(PHONE, "sw")
    assert await store.language(PHONE) == "sw"
    assert await store.language("+255799999999") is None


async def test_ping_answers_when_up(store: SessionStore) -> None:
    await store.ping()


# -- memory store specifics ------------------------------------------------------------------


async def test_memory_store_purges_expired_entries() -> None:
    clock = FakeClock()
    store = MemorySessionStore(
        ttl=0.1, resume_window=0.1, purge_interval=0.05, clock=clock.monotonic
    )
    for n in range(50):
        await save(store, journey(f"at:{n}", phone=f"+2557000000{n:02d}"))
    assert len(store._data) == 100
    clock.advance(0.2)
    await save(store, new_session("at:fresh"))
    assert list(store._data) == [store.keys.session("at:fresh")]


async def test_memory_store_frees_idle_locks() -> None:
    store = MemorySessionStore(lock_wait=0.1)
    await asyncio.gather(*(save(store, new_session(f"at:{n}")) for n in range(20)))
    await asyncio.gather(save(store, new_session()), save(store, new_session()))
    assert store._locks == {}

    holding = asyncio.Event()
    done = asyncio.Event()

    async def stuck_hop() -> None:
        async with store.transaction(KEY):
            holding.set()
            await done.wait()

    task = asyncio.create_task(stuck_hop())
    await holding.wait()
    waiter = asyncio.create_task(save(store, new_session()))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    with pytest.raises(SessionBusy):
        await save(store, new_session())
    done.set()
    await task
    assert store._locks == {}


# -- redis store specifics -------------------------------------------------------------------


async def test_create_store_picks_the_backend(redis_url: str) -> None:
    memory = await create_store(None, ttl=10, resume_window=20)
    assert isinstance(memory, MemorySessionStore)
    assert (memory.ttl, memory.resume_window) == (10, 20)
    assert isinstance(await create_store("", ttl=10, resume_window=20), MemorySessionStore)

    store = await create_store(redis_url, ttl=10, resume_window=20)
    assert isinstance(store, RedisSessionStore)
    assert (store.ttl, store.resume_window) == (10, 20)
    await store.ping()
    session = new_session()
    await save(store, session)
    assert await store.get(KEY) == session
    await store.close()
    assert store.owns_client


async def test_redis_store_leaves_a_shared_client_open(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    store = RedisSessionStore(client=client)
    await store.ping()
    await store.close()
    assert await client.ping()
    await client.aclose()


async def test_redis_layout_ttls_and_no_phone_in_keys(redis_url: str) -> None:
    client = aioredis.from_url(redis_url, decode_responses=True)
    store = RedisSessionStore(client=client, ttl=100, resume_window=200)
    session = journey()
    await save(store, session)
    await store.remember_language(PHONE, "en")

    keys = KeyBuilder()
    stored = sorted(await client.keys("*"))
    assert stored == sorted(
        [
            keys.session(KEY),
            keys.resume("emrejesho", PHONE),
            keys.language(PHONE),
            keys.dropped("emrejesho"),
        ]
    )
    # the journeys in progress, by when they moved: for the dropped-call nudge's sweep
    assert await client.zrange(keys.dropped("emrejesho"), 0, -1, withscores=True) == [
        (keys.resume("emrejesho", PHONE), session.updated_at)
    ]
    assert 190_000 < await client.pttl(keys.dropped("emrejesho")) <= 200_000
    digits = PHONE.lstrip("+")
    for key in stored:
        assert digits not in key and digits[-9:] not in key
    assert await client.get(keys.session(KEY)) == session.dumps()
    assert 90_000 < await client.pttl(keys.session(KEY)) <= 100_000
    assert 190_000 < await client.pttl(keys.resume("emrejesho", PHONE)) <= 200_000
    assert await client.ttl(keys.language(PHONE)) > 300 * 24 * 3600
    await client.aclose()


async def test_redis_lock_of_a_crashed_holder_expires(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    store = RedisSessionStore(client=client, lock_timeout=0.3, lock_wait=2.0, owns_client=True)
    await store._acquire(KEY)  # a process that took the lock and died before releasing it

    started = time.monotonic()
    await save(store, new_session())
    assert 0.2 <= time.monotonic() - started < 1.5
    assert await store.get(KEY) is not None
    await store.close()


async def test_redis_crashed_holder_longer_than_lock_wait_is_busy(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    store = RedisSessionStore(client=client, lock_timeout=5.0, lock_wait=0.2, owns_client=True)
    await store._acquire(KEY)
    with pytest.raises(SessionBusy):
        await save(store, new_session())
    await store.close()


async def test_redis_lock_release_is_token_checked(redis_url: str) -> None:
    """A slow holder whose lock expired must not release the next holder's lock."""
    client = aioredis.from_url(redis_url, decode_responses=True)
    store = RedisSessionStore(client=client, lock_timeout=0.1, lock_wait=1.0, owns_client=True)
    stale = await store._acquire(KEY)
    await asyncio.sleep(0.15)
    store.lock_timeout = 5.0
    current = await store._acquire(KEY)
    await store._release(KEY, stale)
    assert await client.get(store.keys.lock(KEY)) == current
    await store._release(KEY, current)
    assert await client.get(store.keys.lock(KEY)) is None
    await store.close()


async def test_redis_survives_a_flushed_script_cache(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    store = RedisSessionStore(client=client, owns_client=True)
    await save(store, new_session(hops=1))
    await client.script_flush()
    await save(store, new_session(hops=2))
    await client.script_flush()
    async with asyncio.timeout(1):  # the lock was released despite NOSCRIPT
        await save(store, new_session(hops=3))
    assert (await store.get(KEY)).hops == 3  # type: ignore[union-attr]
    await store.close()


async def test_redis_prefetching_lock_survives_a_flushed_script_cache(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    store = RedisSessionStore(client=client, owns_client=True)
    await store.remember_language(PHONE, "en")
    await client.script_flush()
    async with asyncio.timeout(1), store.transaction(KEY, Arrival("emrejesho", PHONE)) as tx:
        assert (tx.prefetched, tx.language) == (True, "en")
        tx.session = new_session()
    assert await client.get(store.keys.lock(KEY)) is None  # locked once, released
    assert (await store.get(KEY)).screen == "start"  # type: ignore[union-attr]
    await store.close()


async def test_redis_down_raises_store_unavailable(isolated_redis_server) -> None:
    store = await create_store(isolated_redis_server.url, ttl=60, resume_window=60)
    await save(store, new_session())
    isolated_redis_server.stop()

    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as excinfo:
        async with store.transaction(KEY):
            pass
    assert excinfo.value.__cause__ is not None
    assert not isinstance(excinfo.value, SessionBusy)
    for call in (
        store.ping(),
        store.get(KEY),
        store.resumable("emrejesho", PHONE),
        store.forget_resumable("emrejesho", PHONE),
        store.language(PHONE),
        store.remember_language(PHONE, "sw"),
    ):
        with pytest.raises(StoreUnavailable):
            await call
    assert time.monotonic() - started < 5

    isolated_redis_server.start()  # Redis is back: the same store recovers (data was lost)
    await store.ping()
    await save(store, new_session(hops=5))
    assert (await store.get(KEY)).hops == 5  # type: ignore[union-attr]
    await store.close()


async def test_redis_dying_between_load_and_save_raises_store_unavailable(
    isolated_redis_server,
) -> None:
    store = await create_store(isolated_redis_server.url, ttl=60, resume_window=60)
    with pytest.raises(StoreUnavailable):
        async with store.transaction(KEY) as tx:
            isolated_redis_server.stop()
            tx.session = new_session()
    await store.close()


# -- stalled hops ----------------------------------------------------------------------------


async def test_a_stalled_request_is_read_with_the_lock_until_forgotten(store: SessionStore) -> None:
    await save(store, new_session())
    await store.stall(KEY, '{"text": "1"}', 60)
    await store.stall(KEY, '{"text": "1*1"}', 60)  # stalling again keeps the first: still owed
    async with store.transaction(KEY) as tx:
        assert tx.stalled == '{"text": "1"}'
        tx.session = new_session(hops=2)  # saving the session leaves it in place
    async with store.transaction(KEY) as tx:
        assert tx.stalled == '{"text": "1"}'
    await store.forget_stalled(KEY)
    async with store.transaction(KEY) as tx:
        assert tx.stalled is None
    async with store.transaction("at:other") as tx:
        assert tx.stalled is None  # another session's hops are its own


async def test_a_stalled_request_expires(make_store: StoreFactory) -> None:
    store = make_store()
    await store.stall(KEY, "late", 0.3)
    await make_store.later(0.5)  # type: ignore[attr-defined]
    async with store.transaction(KEY) as tx:
        assert tx.stalled is None


# -- dial counts (aggregators that send no session id) ------------------------------------------


async def test_dial_counts_are_per_number_and_scope(store: SessionStore) -> None:
    phone = "+233241234567"
    assert await store.dials("nalo", phone, new=False) == 0
    assert await store.dials("nalo", phone, new=True) == 1
    assert await store.dials("nalo", phone, new=False) == 1
    assert await store.dials("nalo", phone, new=True) == 2
    assert await store.dials("nalo", "+233201234567", new=False) == 0
    assert await store.dials("other", phone, new=False) == 0


@pytest.mark.parametrize("make_store", ["redis"], indirect=True)
async def test_dial_counts_are_shared_by_every_process(make_store: StoreFactory) -> None:
    one, two = make_store(), make_store()  # two web processes on one Redis
    phone = "+233241234567"
    assert await one.dials("nalo", phone, new=True) == 1
    assert await two.dials("nalo", phone, new=False) == 1
    assert await two.dials("nalo", phone, new=True) == 2
    assert await one.dials("nalo", phone, new=False) == 2
