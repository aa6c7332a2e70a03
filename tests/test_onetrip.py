"""One Redis round trip for a plain hop (``sessions.single_trip``), and every case that must
take the locked two-trip path instead, through the real webhook, Redis and database.

Trips are seen as Redis sees them (``MONITOR``): the commands a hop sends that name its
session's keys. A two-trip hop sends four (lock + read and the guard's counters and memo, then
the write and the unlock); a one-trip hop sends one script call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import func, select

from tests.guard.helpers import NUMBER, start
from tests.guard.test_limits import SW, fresh_window, limits
from tests.support.phone import Phone
from tests.test_journeys import MESSAGE, reference_in
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.adapters.guard_state import RedisGuardState
from ussd_gateway.adapters.sessions.single_trip import RecentSessions
from ussd_gateway.application.guard import stall_key
from ussd_gateway.config.settings import ConfigError, SessionSettings, load_settings
from ussd_gateway.domain.session import Session
from ussd_gateway.domain.ussd import UssdRequest
from ussd_gateway.http.keys import HOPS, SUBMISSIONS

KINDS = "Aina ya mrejesho\n1. Lalamiko"
INSTITUTIONS = "Chagua taasisi"
BODY = "CON TRA - Mapato\nAndika ujumbe wako"
ONE_TRIP = 1
TWO_TRIPS = 4


class Counted:
    """A phone whose hops record how many commands naming its session Redis received (not
    counting those scripts ran)."""

    def __init__(self, phone: Phone, redis_url: str) -> None:
        self.phone = phone
        self.redis_url = redis_url
        self.calls: list[int] = []

    async def _hop(self, step: Any) -> str:
        client = aioredis.from_url(self.redis_url)
        seen: list[str] = []
        marker = f"hop-done-{uuid.uuid4().hex}"
        try:
            async with client.monitor() as monitor:

                async def watch() -> None:
                    async for command in monitor.listen():
                        if marker in command["command"]:
                            return
                        if command["client_type"] != "lua":
                            seen.append(command["command"])

                watching = asyncio.create_task(watch())
                reply = await step
                await aioredis.from_url(self.redis_url).echo(marker)
                await asyncio.wait_for(watching, 5)
        finally:
            await client.aclose()
        tag = "{" + f"africastalking:{self.phone.session_id}" + "}"
        self.calls.append(sum(tag in command for command in seen))
        return reply

    async def dial(self) -> str:
        return await self._hop(self.phone.dial())

    async def send(self, entry: str) -> str:
        return await self._hop(self.phone.send(entry))

    async def post(self, text: str) -> str:
        return await self._hop(self.phone.post(text))


async def gateway(aiohttp_client, sqlite_url: str, redis_url: str, **changes: Any):
    return await start(aiohttp_client, database_url=sqlite_url, redis_url=redis_url, **changes)


def key_of(phone: Phone) -> str:
    return f"africastalking:{phone.session_id}"


async def journey(counted: Counted) -> list[str]:
    """e-Mrejesho from the dial to the submission's END (8 hops)."""
    screens = [await counted.dial()]
    for entry in ("1", "1", "2", MESSAGE, "1", "Amina Juma", "1"):
        screens.append(await counted.send(entry))
    return screens


async def submissions(sqlite_url: str) -> int:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(select(func.count()).select_from(Submission))).one()[0]
    finally:
        await engine.dispose()


async def test_plain_hops_take_one_trip_and_answer_as_two_trips_do(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    client = await gateway(aiohttp_client, sqlite_url, redis_url)
    await journey(Counted(Phone(client, number="+255754000111"), redis_url))  # scripts cached
    fast = Counted(Phone(client), redis_url)
    screens = await journey(fast)
    # the dial and the submit take the locked path; every hop between takes one trip
    assert fast.calls == [TWO_TRIPS] + [ONE_TRIP] * 6 + [TWO_TRIPS]
    assert screens[1].startswith(f"CON {KINDS}") and screens[3].startswith(BODY)
    assert await submissions(sqlite_url) == 2  # the submit ran exactly once per journey
    store = fast.phone.client.app[HOPS].store
    assert store.recent.get(key_of(fast.phone)) is None  # an ended session is not kept

    slow = Counted(
        Phone(
            await gateway(
                aiohttp_client,
                sqlite_url,
                redis_url,
                sessions=SessionSettings(single_trip=False),
            )
        ),
        redis_url,
    )
    slow_screens = await journey(slow)
    assert slow.calls == [TWO_TRIPS] * 8
    assert slow.phone.client.app[HOPS].store.recent is None
    assert screens[:-1] == slow_screens[:-1]
    assert reference_in(screens[-1]) != reference_in(slow_screens[-1])
    assert screens[-1].replace(reference_in(screens[-1]), "X") == slow_screens[-1].replace(
        reference_in(slow_screens[-1]), "X"
    )
    assert await submissions(sqlite_url) == 3


async def test_a_session_moved_on_by_another_process_is_answered_from_redis(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    first = Phone(await gateway(aiohttp_client, sqlite_url, redis_url))
    other = await gateway(aiohttp_client, sqlite_url, redis_url)
    await first.dial()
    assert KINDS in await first.send("1")  # this process saved the session last
    # the next hop reaches another process, which moves the session on
    response = await other.post("/ussd/africastalking", data=first.form("1*1"))
    assert INSTITUTIONS in await response.text()
    first.entries.append("1")
    # this process's copy is one hop behind: its speculative answer ("1*2" on the kinds screen)
    # must not be saved; the hop is answered from the real state
    counted = Counted(first, redis_url)
    assert (await counted.send("2")).startswith(BODY)
    assert counted.calls == [ONE_TRIP + TWO_TRIPS]
    saved = await first.client.app[HOPS].store.get(key_of(first))
    assert saved is not None and saved.consumed == "1*1*2" and saved.screen == "body"
    # the locked path's save is remembered: the next hop takes one trip again
    assert "Ungependa kujitambulisha?" in await counted.send(MESSAGE)
    assert counted.calls[-1] == ONE_TRIP


async def test_a_locked_session_waits_for_its_lock(aiohttp_client, sqlite_url, redis_url) -> None:
    phone = Phone(await gateway(aiohttp_client, sqlite_url, redis_url))
    await phone.dial()
    await phone.send("1")
    holder = aioredis.from_url(redis_url)
    try:
        # another process is in the middle of a hop of this session
        await holder.set(f"ussd:{{{key_of(phone)}}}:lock", "other", px=300)
        began = time.monotonic()
        counted = Counted(phone, redis_url)
        assert INSTITUTIONS in await counted.send("1")
        assert time.monotonic() - began >= 0.25  # it waited for the lock, like any hop
        assert counted.calls[0] >= ONE_TRIP + TWO_TRIPS  # tried once, then locked (and retried)
    finally:
        await holder.aclose()


async def test_a_stalled_hop_is_replayed_not_skipped(aiohttp_client, sqlite_url, redis_url) -> None:
    phone = Phone(await gateway(aiohttp_client, sqlite_url, redis_url))
    await phone.dial()
    await phone.send("1")
    # the hop "1*1" overran the deadline, got "still working" and failed late: the citizen's
    # "1. Continue" must replay it
    stalled = UssdRequest(
        provider="africastalking",
        session_id=phone.session_id,
        service_code=phone.code,
        phone=NUMBER,
        network=phone.network,
        text="1*1",
    )
    holder = aioredis.from_url(redis_url)
    try:
        await holder.set(stall_key(stalled), json.dumps(dataclasses.asdict(stalled)), px=60_000)
        counted = Counted(phone, redis_url)
        assert INSTITUTIONS in await counted.post("1*1*1")
        assert counted.calls == [ONE_TRIP + TWO_TRIPS + 1]  # tried, fell back, memo deleted
        assert await holder.get(stall_key(stalled)) is None  # the citizen has seen it now
    finally:
        await holder.aclose()
    saved = await phone.client.app[HOPS].store.get(key_of(phone))
    assert saved is not None and saved.consumed == "1*1"


async def test_a_rate_limited_hop_gets_the_polite_end_and_writes_nothing(
    aiohttp_client, sqlite_url, redis_url, caplog
) -> None:
    window = 2.0
    client = await gateway(
        aiohttp_client, sqlite_url, redis_url, sections=limits(phone=(3, window))
    )
    phone = Phone(client)
    await fresh_window(window)
    await phone.dial()
    await phone.send("1")
    assert INSTITUTIONS in await phone.send("1")
    before = await client.app[HOPS].store.get(key_of(phone))
    counted = Counted(phone, redis_url)
    assert await counted.send("2") == SW
    assert counted.calls == [ONE_TRIP]  # refused by the one trip itself
    assert "rate limited (phone)" in caplog.text
    assert await client.app[HOPS].store.get(key_of(phone)) == before
    holder = aioredis.from_url(redis_url)
    try:
        counts = [int(await holder.get(k)) async for k in holder.scan_iter(match="ussd:rl:phone:*")]
    finally:
        await holder.aclose()
    assert counts == [4]  # every hop counted once, the refused one included


class CountingLookups:
    """The real submissions store, counting status lookups."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lookups = 0

    async def submit(self, draft: Any) -> str:
        return await self.inner.submit(draft)

    async def get(self, reference: str) -> Any:
        self.lookups += 1
        return await self.inner.get(reference)

    async def existing(self, idempotency_key: str) -> str | None:
        return await self.inner.existing(idempotency_key)


async def test_a_lookup_reached_from_a_plain_hop_runs_once(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    client = await gateway(aiohttp_client, sqlite_url, redis_url)
    phone = Phone(client)
    reference = reference_in((await journey(Counted(phone, redis_url)))[-1])
    engine = client.app[HOPS].engine
    ports = engine.ports = CountingLookups(client.app[SUBMISSIONS])
    counted = Counted(phone, redis_url)
    await counted.dial()
    assert "Andika namba ya kumbukumbu" in await counted.send("2")
    assert (await counted.send(reference)).startswith("END ")
    assert ports.lookups == 1
    # one trip to the reference screen; then refused before the lookup, which runs once, locked
    assert counted.calls == [TWO_TRIPS, ONE_TRIP, TWO_TRIPS]


async def test_a_language_change_takes_the_locked_path(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    client = await gateway(aiohttp_client, sqlite_url, redis_url)
    counted = Counted(Phone(client), redis_url)
    await counted.dial()
    assert "Chagua lugha" in await counted.send("3")
    assert (await counted.send("2")).startswith("CON Welcome to e-Mrejesho")
    assert counted.calls == [TWO_TRIPS, ONE_TRIP, TWO_TRIPS]
    assert await client.app[HOPS].store.language(NUMBER) == "en"  # remembered for next time


async def test_a_flushed_script_cache_is_loaded_again(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    phone = Phone(await gateway(aiohttp_client, sqlite_url, redis_url))
    await phone.dial()
    await phone.send("1")
    holder = aioredis.from_url(redis_url)
    try:
        await holder.script_flush()  # as after a Redis restart
        assert INSTITUTIONS in await phone.send("1")
        stats = await holder.info("commandstats")
    finally:
        await holder.aclose()
    assert stats["cmdstat_eval"]["calls"] >= 1
    assert BODY in await phone.send("2")


async def test_redis_gone_mid_journey_ends_politely(
    aiohttp_client, sqlite_url, isolated_redis_server
) -> None:
    phone = Phone(await gateway(aiohttp_client, sqlite_url, isolated_redis_server.url))
    await phone.dial()
    await phone.send("1")
    isolated_redis_server.stop()
    reply = await phone.send("1")
    assert reply.startswith("END Samahani, huduma haipatikani kwa sasa.")


async def test_concurrent_copies_of_a_plain_hop_advance_once(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    client = await gateway(aiohttp_client, sqlite_url, redis_url)
    phone = Phone(client)
    await phone.dial()
    await phone.send("1")
    replies = await asyncio.gather(*(phone.post("1*1") for _ in range(5)))
    assert len(set(replies)) == 1 and INSTITUTIONS in replies[0]
    saved = await client.app[HOPS].store.get(key_of(phone))
    assert saved is not None and saved.hops == 3


def test_the_setting_is_read_and_checked(tmp_path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("sessions: {single_trip: false}\n")
    assert load_settings(path, env={}).sessions.single_trip is False
    path.write_text("sessions: {ttl: 60}\n")
    assert load_settings(path, env={}).sessions.single_trip is True
    path.write_text("sessions: {single_trip: sometimes}\n")
    try:
        load_settings(path, env={})
    except ConfigError as exc:
        assert "single_trip" in str(exc)
    else:
        raise AssertionError("a bad single_trip was accepted")


def test_recent_sessions_are_bounded_and_forget_ended_ones() -> None:
    recent = RecentSessions(size=2)
    sessions = [Session(key=f"k{i}", service="s", phone="p", language="sw") for i in range(3)]
    for session in sessions:
        recent.saved(session.key, session.dumps(), session)
    assert recent.get("k0") is None and len(recent) == 2
    sessions[2].vars["x"] = 1  # a caller changing what it saved changes nothing kept
    assert recent.get("k2")[1].vars == {}  # type: ignore[index]
    ended = sessions[2].copy()
    ended.end_reason = "timeout"
    recent.saved("k2", ended.dumps(), ended)
    assert recent.get("k2") is None


async def test_a_one_trip_hop_past_the_deadline_answers_on_the_next_entry(
    aiohttp_client, sqlite_url, redis_url
) -> None:
    client = await gateway(
        aiohttp_client, sqlite_url, redis_url, sections={"limits": {"hop_deadline": 0.08}}
    )
    guard = client.app[HOPS].guard
    # the guard's own client gives up after 0.25 s; this one waits out the pause below
    await guard.state.close()
    guard.state = RedisGuardState(aioredis.from_url(redis_url, socket_timeout=2), owns_client=True)
    phone = Phone(client)
    await phone.dial()
    await phone.send("1")
    holder = aioredis.from_url(redis_url)
    try:
        # Redis holds every write for 0.3 s (under the store's 0.5 s socket timeout): the one
        # trip is late, the citizen is asked to continue, the hop finishes on its own
        await holder.execute_command("CLIENT", "PAUSE", "300", "WRITE")
        assert await phone.send("1") == "CON Bado tunashughulikia ombi lako.\n1. Endelea"
        await asyncio.sleep(0.4)
        saved = await client.app[HOPS].store.get(key_of(phone))
        assert saved is not None and saved.consumed == "1*1"  # saved once, by the late hop
        # "1. Endelea": the stalled hop is replayed, which shows what it answered
        assert INSTITUTIONS in await phone.send("1")
        assert await holder.get(f"ussd:{{{key_of(phone)}}}:stalled") is None
    finally:
        await holder.aclose()
    saved = await client.app[HOPS].store.get(key_of(phone))
    assert saved is not None and saved.consumed == "1*1" and saved.hops == 3
