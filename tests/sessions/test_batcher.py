"""The Redis call batcher against a real server: the calls of concurrent hops leave as one
script call on one connection, each gets its own result or error, and one caller's trouble
stays its own."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from ussd_gateway.adapters.redis.batcher import Batcher
from ussd_gateway.adapters.redis.client import connect

FUNCTIONS = {
    "add": """
redis.call('SET', KEYS[1], ARGV[1])
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
return {n, redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}
""",
    "fail": "return redis.call('INCR', KEYS[1])",
    "ping": "return 'pong'",
}


async def redis_stats(url: str) -> tuple[int, int]:
    """Connected clients and EVALSHA commands so far, as the server counts them."""
    admin = aioredis.from_url(url)
    try:
        clients = (await admin.info("clients"))["connected_clients"]
        evalsha = (await admin.info("commandstats")).get("cmdstat_evalsha", {"calls": 0})
        return int(clients), int(evalsha["calls"])
    finally:
        await admin.aclose()


@pytest.fixture
async def batcher(redis_url: str):
    client = connect(redis_url)
    batcher = Batcher(client)
    batcher.register(FUNCTIONS)
    yield batcher
    await batcher.close()
    await client.aclose()


async def test_fifty_concurrent_calls_are_one_command_on_one_connection(
    batcher: Batcher, redis_url: str
) -> None:
    assert await batcher.submit("ping", []) == b"pong"  # the script is cached from here on
    clients, commands = await redis_stats(redis_url)
    replies = await asyncio.gather(
        *(batcher.submit("add", [f"batch:{n}", "batch:none"], [n]) for n in range(50))
    )
    assert replies == [[2 * n, str(2 * n).encode(), None] for n in range(50)]
    after_clients, after_commands = await redis_stats(redis_url)
    assert after_clients == clients  # no connection of its own per hop
    assert after_commands - commands == 1  # one script call for the fifty


async def test_a_failing_call_is_its_callers_error_only(batcher: Batcher) -> None:
    client = batcher.client
    await client.set("batch:text", "not a number")
    good, bad, unknown = await asyncio.gather(
        batcher.submit("add", ["batch:ok", "batch:text"], [1]),
        batcher.submit("fail", ["batch:text"]),
        batcher.submit("nothing", []),
        return_exceptions=True,
    )
    assert good == [2, b"2", b"not a number"]
    assert isinstance(bad, ResponseError) and "not an integer" in str(bad)
    assert isinstance(unknown, ResponseError) and "no function" in str(unknown)


async def test_a_flushed_script_cache_is_filled_again(batcher: Batcher) -> None:
    assert await batcher.submit("ping", []) == b"pong"
    await batcher.client.script_flush()
    assert await batcher.submit("ping", []) == b"pong"


async def test_a_caller_giving_up_does_not_break_the_others(batcher: Batcher) -> None:
    impatient = asyncio.ensure_future(batcher.submit("add", ["batch:gone", "x"], [1]))
    patient = asyncio.ensure_future(batcher.submit("add", ["batch:kept", "x"], [3]))
    await asyncio.sleep(0)  # both queued in this turn
    impatient.cancel()
    assert await patient == [6, b"6", None]
    assert await batcher.client.get("batch:kept") == b"6"


def test_a_function_name_cannot_mean_two_things(batcher: Batcher) -> None:
    batcher.register({"ping": FUNCTIONS["ping"]})  # the same again is fine
    with pytest.raises(ValueError, match="registered twice"):
        batcher.register({"ping": "return 'other'"})


async def test_a_dead_server_fails_every_call_of_the_batch_quickly(isolated_redis_server) -> None:
    client = connect(isolated_redis_server.url)
    batcher = Batcher(client)
    batcher.register(FUNCTIONS)
    try:
        assert await batcher.submit("ping", []) == b"pong"
        isolated_redis_server.stop()
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await asyncio.gather(
            *(batcher.submit("ping", []) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(r, RedisConnectionError | OSError) for r in results), results
        assert loop.time() - started < 2
        isolated_redis_server.start()  # back: the same batcher works again (its script too)
        assert await batcher.submit("ping", []) == b"pong"
    finally:
        await batcher.close()
        await client.aclose()


async def test_calls_made_while_a_batch_is_out_leave_together_after_it(
    batcher: Batcher, redis_url: str
) -> None:
    assert await batcher.submit("ping", []) == b"pong"
    _, before = await redis_stats(redis_url)
    first = batcher.submit("add", ["batch:first", "x"], [1])
    for _ in range(4):  # the first batch leaves, and is out
        await asyncio.sleep(0)
    later = [batcher.submit("add", [f"batch:later{n}", "x"], [n]) for n in range(10)]
    assert await first == [2, b"2", None]
    assert await asyncio.gather(*later) == [[2 * n, str(2 * n).encode(), None] for n in range(10)]
    _, after = await redis_stats(redis_url)
    assert after - before == 2  # the first alone, then the ten together
