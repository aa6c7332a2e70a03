"""The hop path's pipelined Redis trips, against a real Redis server."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
import redis.asyncio as aioredis
from redis._parsers import _AsyncRESP2Parser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from ussd_gateway.adapters.sessions import StoreUnavailable, create_store
from ussd_gateway.adapters.sessions.multiplex import LINES, Multiplexer
from ussd_gateway.adapters.sessions.redis import RedisSessionStore
from ussd_gateway.domain.session import Session

PHONE = "+255712345678"


def session(key: str, hops: int = 0) -> Session:
    return Session(
        key=key, service="emrejesho", phone=PHONE, language="sw", screen="start", hops=hops
    )


async def test_replies_come_back_in_order_with_a_server_error_in_its_place(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    trips = Multiplexer(client, 0.5)
    try:
        replies = await trips.trip([("SET", "k", "text"), ("INCR", "k"), ("GET", "k")])
        assert replies[0] == b"OK"
        assert isinstance(replies[1], ResponseError)
        assert replies[2] == b"text"
    finally:
        await trips.close()
        await client.aclose()


@pytest.mark.parametrize("lines", sorted({LINES, 2}))
async def test_concurrent_trips_share_connections_and_each_gets_its_own_replies(
    redis_url: str, lines: int
) -> None:
    """Hundreds of trips in flight at once, some with replies too large for one read: every
    trip reads exactly its own replies, over at most ``lines`` connections."""
    client = aioredis.from_url(redis_url)
    trips = Multiplexer(client, 2.0, lines)

    async def one(i: int) -> tuple[int, list]:
        await asyncio.sleep(0.001 * (i % 3))  # trips of several loop turns interleave
        value = f"{i}:" + "x" * (200_000 if i % 50 == 0 else i % 7)
        return i, await trips.trip(
            [("SET", f"k{i}", value), ("GET", f"k{i}"), ("CLIENT", "ID"), ("INCR", "n")]
        )

    try:
        results = await asyncio.gather(*(one(i) for i in range(300)))
        connections = set()
        for i, (ok, value, client_id, _) in results:
            assert ok == b"OK"
            assert value.split(b":")[0] == str(i).encode()
            connections.add(client_id)
        assert sorted(r[3] for _, r in results) == list(range(1, 301))
        assert len(connections) <= lines
    finally:
        await trips.close()
        await client.aclose()


async def test_noscript_in_the_middle_of_a_batch_fails_only_its_own_trip(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    trips = Multiplexer(client, 0.5)
    try:
        before, missing, after = await asyncio.gather(
            trips.trip([("SET", "k", "v"), ("GET", "k")]),
            trips.trip([("EVALSHA", "0" * 40, 0)]),
            trips.trip([("GET", "k"), ("EXISTS", "k")]),
        )
        assert before == [b"OK", b"v"]
        assert isinstance(missing[0], NoScriptError)
        assert after == [b"v", 1]
    finally:
        await trips.close()
        await client.aclose()


async def test_concurrent_hops_survive_a_flushed_script_cache(redis_url: str) -> None:
    """Every hop of a batch whose scripts Redis forgot re-runs them by their text: all lock,
    save and unlock."""
    store = await create_store(redis_url, ttl=60, resume_window=60)
    client = aioredis.from_url(redis_url)
    try:

        async def hop(key: str, hops: int) -> None:
            async with store.transaction(key) as tx:
                tx.session = session(key, hops)

        await asyncio.gather(*(hop(f"s{i}", 1) for i in range(20)))
        await client.script_flush()
        async with asyncio.timeout(2):
            await asyncio.gather(*(hop(f"s{i}", 2) for i in range(20)))
        for i in range(20):
            assert (await store.get(f"s{i}")).hops == 2  # type: ignore[union-attr]
        assert await client.keys("*lock*") == []
    finally:
        await store.close()
        await client.aclose()


async def test_a_trip_past_its_deadline_fails_and_leaves_no_late_reply(redis_url: str) -> None:
    """A command Redis does not answer in time fails its trip; the next trip reads its own
    reply, not the late one."""
    client = aioredis.from_url(redis_url)
    trips = Multiplexer(client, 0.1)
    try:
        await trips.trip([("SET", "k", "mine")])
        with pytest.raises(TimeoutError):  # BLPOP itself would answer nil after 2 s
            await trips.trip([("BLPOP", "nothing", "2")])
        await trips.trip([("RPUSH", "nothing", "late")])
        assert await trips.trip([("GET", "k")]) == [b"mine"]
    finally:
        await trips.close()
        await client.aclose()


async def test_a_cancelled_trips_reply_is_not_handed_to_the_next_trip(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    trips = Multiplexer(client, 2.0)
    try:
        await trips.trip([("SET", "k", "mine")])
        waiting = asyncio.ensure_future(trips.trip([("BLPOP", "nothing", "0.3")]))
        await asyncio.sleep(0.05)
        waiting.cancel()  # its BLPOP is on the connection already: its nil will still come
        assert await trips.trip([("GET", "k")]) == [b"mine"]
        assert waiting.cancelled()
    finally:
        await trips.close()
        await client.aclose()


async def test_a_stalled_redis_fails_pending_trips_in_time_and_later_trips_work(
    isolated_redis_server,
) -> None:
    """Redis stops answering (SIGSTOP): the trips pending on the connection fail with
    ``TimeoutError`` shortly after their deadline; once it answers again, later trips work on
    a fresh connection and read only their own replies."""
    client = aioredis.from_url(isolated_redis_server.url)
    trips = Multiplexer(client, 0.2)
    pid = isolated_redis_server._process.pid
    try:
        ((first_id, _),) = [await trips.trip([("CLIENT", "ID"), ("SET", "k", "mine")])]
        os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        results = await asyncio.gather(
            *(trips.trip([("INCR", "n")]) for _ in range(10)), return_exceptions=True
        )
        waited = time.monotonic() - started
        os.kill(pid, signal.SIGCONT)
        assert all(isinstance(result, TimeoutError) for result in results), results
        assert waited < 1.0  # the deadline is 0.2 s, kept within a tenth of it (plus slack)
        (later_id, mine) = await trips.trip([("CLIENT", "ID"), ("GET", "k")])
        assert mine == b"mine"
        assert later_id != first_id
    finally:
        os.kill(pid, signal.SIGCONT)
        await trips.close()
        await client.aclose()


async def test_connections_closed_by_a_restart_while_idle_are_replaced_not_used(
    isolated_redis_server,
) -> None:
    """After a Redis restart every trip succeeds: the connection Redis closed while idle is
    replaced instead of failing the next trips."""
    client = aioredis.from_url(isolated_redis_server.url, socket_timeout=0.5)
    other = aioredis.from_url(isolated_redis_server.url, socket_timeout=0.5)
    trips = Multiplexer(client, 0.5)
    try:
        batch = [trips.trip([("INCR", "n")]) for _ in range(3)]
        assert sorted(r[0] for r in await asyncio.gather(*batch)) == [1, 2, 3]
        isolated_redis_server.stop()
        isolated_redis_server.start()
        await other.ping()  # the event loop runs, and sees Redis close the idle socket
        batch = [trips.trip([("INCR", "n")]) for _ in range(3)]
        assert sorted(r[0] for r in await asyncio.gather(*batch)) == [1, 2, 3]
    finally:
        await trips.close()
        await client.aclose()
        await other.aclose()


async def test_a_restart_under_load_fails_only_hops_in_flight_and_the_next_hops_work(
    isolated_redis_server,
) -> None:
    store = await create_store(isolated_redis_server.url, ttl=60, resume_window=60)
    done: list[str] = []
    failed: list[BaseException] = []
    loaded = asyncio.Event()

    async def walk(w: int) -> None:
        for i in range(10_000):
            try:
                async with store.transaction(f"w{w}") as tx:
                    tx.session = session(f"w{w}", i)
            except StoreUnavailable as exc:
                failed.append(exc)
                return
            done.append(f"w{w}")
            if len(done) >= 200:
                loaded.set()

    try:
        walkers = [asyncio.ensure_future(walk(w)) for w in range(20)]
        await loaded.wait()
        isolated_redis_server.stop()
        async with asyncio.timeout(5):  # every walker's hop in flight failed, none hung
            await asyncio.gather(*walkers)
        assert len(failed) == 20
        isolated_redis_server.start()
        async with asyncio.timeout(5):
            await asyncio.gather(*(walk_once(store, f"w{w}") for w in range(20)))
    finally:
        await store.close()


async def walk_once(store: RedisSessionStore, key: str) -> None:
    """One hop, which must work at its first attempt."""
    async with store.transaction(key) as tx:
        tx.session = session(key, 99)
    assert (await store.get(key)).hops == 99  # type: ignore[union-attr]


class SilentProxy:
    """A TCP proxy to Redis that can stop passing data on its open connections without
    closing them, as a firewall that forgets idle connections does."""

    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.port = 0
        self._open: list[list[bool]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def silence(self) -> None:
        for passing in self._open:
            passing[0] = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.redis_port)
        self._writers += [writer, up_writer]
        passing = [True]
        self._open.append(passing)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                if passing[0]:
                    dst.write(data)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()


async def test_a_connection_silently_dropped_while_quiet_is_replaced_before_use(
    isolated_redis_server,
) -> None:
    """A connection quiet for longer than the client's health check interval is PINGed before
    a trip uses it; when nothing answers, the trip goes out on a new connection instead of
    failing."""
    proxy = SilentProxy(isolated_redis_server.port)
    await proxy.start()
    client = aioredis.from_url(f"redis://127.0.0.1:{proxy.port}/0", health_check_interval=0.3)
    trips = Multiplexer(client, 0.2)
    try:
        (first_id,) = await trips.trip([("CLIENT", "ID")])
        proxy.silence()
        await asyncio.sleep(0.4)
        (later_id,) = await trips.trip([("CLIENT", "ID")])
        assert later_id != first_id
    finally:
        await trips.close()
        await client.aclose()
        await proxy.close()


async def test_a_dead_redis_fails_trips_at_once_and_a_revived_one_serves_them(
    isolated_redis_server,
) -> None:
    client = aioredis.from_url(isolated_redis_server.url, socket_timeout=0.5)
    trips = Multiplexer(client, 0.5)
    try:
        await trips.trip([("SET", "k", "v")])
        isolated_redis_server.stop()
        started = time.monotonic()
        results = await asyncio.gather(
            *(trips.trip([("GET", "k")]) for _ in range(10)), return_exceptions=True
        )
        assert all(isinstance(r, (RedisConnectionError, OSError)) for r in results), results
        assert time.monotonic() - started < 5
        isolated_redis_server.start()
        assert await trips.trip([("SET", "k", "again"), ("GET", "k")]) == [b"OK", b"again"]
    finally:
        await trips.close()
        await client.aclose()


async def test_a_client_without_the_hiredis_parser_still_gets_its_replies(redis_url: str) -> None:
    client = aioredis.from_url(redis_url, parser_class=_AsyncRESP2Parser, protocol=2)
    trips = Multiplexer(client, 0.5)
    try:
        results = await asyncio.gather(
            *(trips.trip([("SET", f"k{i}", i), ("GET", f"k{i}")]) for i in range(20))
        )
        assert results == [[b"OK", str(i).encode()] for i in range(20)]
        replies = await trips.trip([("EVALSHA", "0" * 40, 0), ("GET", "k1")])
        assert isinstance(replies[0], NoScriptError)
        assert replies[1] == b"1"
    finally:
        await trips.close()
        await client.aclose()


async def test_closing_the_client_under_the_multiplexer_does_not_hang(redis_url: str) -> None:
    """A shared client closed by its owner while the store still holds its connection."""
    client = aioredis.from_url(redis_url, socket_connect_timeout=2)
    trips = Multiplexer(client, 0.5)
    await trips.trip([("PING",)])
    async with asyncio.timeout(1):
        await client.aclose()
    assert await trips.trip([("PING",)]) == [b"PONG"]  # on a new connection
    await trips.close()
    await client.aclose()
