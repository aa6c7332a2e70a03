"""The Redis trip batcher against a real server: concurrent hops share one connection and one
write per loop turn, each gets its own replies, and one caller's trouble stays its own."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from ussd_gateway.adapters.redis.batcher import Batcher
from ussd_gateway.adapters.redis.client import connect


async def clients_connected(url: str) -> int:
    admin = aioredis.from_url(url)
    try:
        return int((await admin.info("clients"))["connected_clients"])
    finally:
        await admin.aclose()


async def test_fifty_concurrent_trips_share_one_connection_and_get_their_own_replies(
    redis_url: str,
) -> None:
    client = connect(redis_url)
    batcher = Batcher(client)
    before = await clients_connected(redis_url)
    try:

        async def trip(n: int) -> list[object]:
            return await batcher.trip(
                [("SET", f"batch:{n}", n), ("INCRBY", f"batch:{n}", n), ("GET", f"batch:{n}")]
            )

        replies = await asyncio.gather(*(trip(n) for n in range(50)))
        assert replies == [[True, 2 * n, str(2 * n).encode()] for n in range(50)]
        assert await clients_connected(redis_url) == before + 1  # one pipeline, one connection
    finally:
        await batcher.close()
        await client.aclose()


async def test_a_server_error_comes_back_in_its_place_only(redis_url: str) -> None:
    client = connect(redis_url)
    batcher = Batcher(client)
    try:
        good, bad = await asyncio.gather(
            batcher.trip([("SET", "batch:ok", "1"), ("GET", "batch:ok")]),
            batcher.trip([("EVALSHA", "0" * 40, 0), ("PING",)]),
        )
        assert good == [True, b"1"]
        assert isinstance(bad[0], ResponseError) and bad[1] is True
    finally:
        await batcher.close()
        await client.aclose()


async def test_a_caller_giving_up_does_not_break_the_others(redis_url: str) -> None:
    client = connect(redis_url)
    batcher = Batcher(client)
    try:
        impatient = asyncio.ensure_future(batcher.trip([("SET", "batch:gone", "x")]))
        patient = asyncio.ensure_future(batcher.trip([("SET", "batch:kept", "y")]))
        await asyncio.sleep(0)  # both queued in this turn
        impatient.cancel()
        assert await patient == [True]
        assert await client.get("batch:kept") == b"y"
    finally:
        await batcher.close()
        await client.aclose()


async def test_a_dead_server_fails_every_trip_of_the_pipeline_quickly(
    isolated_redis_server,
) -> None:
    client = connect(isolated_redis_server.url)
    batcher = Batcher(client)
    try:
        assert await batcher.trip([("PING",)]) == [True]
        isolated_redis_server.stop()
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await asyncio.gather(
            *(batcher.trip([("PING",)]) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(r, RedisConnectionError | OSError) for r in results), results
        assert loop.time() - started < 2
        isolated_redis_server.start()  # back: the same batcher works again
        assert await batcher.trip([("PING",)]) == [True]
    finally:
        await batcher.close()
        await client.aclose()


@pytest.mark.parametrize("commands", [[], [("PING",)]])
async def test_a_trip_alone_is_one_call(redis_url: str, commands: list[tuple[str]]) -> None:
    client = connect(redis_url)
    batcher = Batcher(client)
    try:
        assert await batcher.trip(commands) == [True] * len(commands)
    finally:
        await batcher.close()
        await client.aclose()
