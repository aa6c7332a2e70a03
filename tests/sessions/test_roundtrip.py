"""The hop path's lean Redis round trip, against a real Redis server."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from ussd_gateway.sessions.roundtrip import Lanes, roundtrip, trip_timeout


async def test_replies_come_back_in_order_with_a_server_error_in_its_place(redis_url: str) -> None:
    client = aioredis.from_url(redis_url, socket_timeout=0.5)
    try:
        replies = await roundtrip(
            client, [("SET", "k", "text"), ("INCR", "k"), ("GET", "k")], trip_timeout(client)
        )
        assert replies[0] == b"OK"
        assert isinstance(replies[1], ResponseError)
        assert replies[2] == b"text"
    finally:
        await client.aclose()


async def test_a_missed_deadline_never_leaves_a_late_reply_for_the_next_trip(
    redis_url: str,
) -> None:
    """The blocked command's reply would otherwise be read as the next trip's answer."""
    client = aioredis.from_url(redis_url, max_connections=1)
    try:
        await roundtrip(client, [("SET", "k", "mine")], None)
        with pytest.raises(TimeoutError):
            await roundtrip(client, [("BLPOP", "nothing", "0.3")], 0.05)
        await roundtrip(client, [("RPUSH", "nothing", "late")], 1.0)
        assert await roundtrip(client, [("GET", "k")], 1.0) == [b"mine"]
    finally:
        await client.aclose()


async def test_a_restarted_redis_is_reached_again_on_the_next_trip(isolated_redis_server) -> None:
    client = aioredis.from_url(isolated_redis_server.url, socket_timeout=0.5)
    try:
        await roundtrip(client, [("SET", "k", "v")], 0.5)
        isolated_redis_server.stop()
        with pytest.raises((ConnectionError, aioredis.ConnectionError, TimeoutError, OSError)):
            await roundtrip(client, [("GET", "k")], 0.5)
        isolated_redis_server.start()
        assert await roundtrip(client, [("SET", "k", "again"), ("GET", "k")], 0.5) == [
            b"OK",
            b"again",
        ]
    finally:
        await client.aclose()


async def test_stashed_connections_closed_by_a_restart_are_replaced_not_used(
    isolated_redis_server,
) -> None:
    """After a Redis restart, every hop-path trip succeeds: idle stashed connections that Redis
    closed are reconnected at checkout instead of failing one hop each."""
    client = aioredis.from_url(isolated_redis_server.url, socket_timeout=0.5)
    other = aioredis.from_url(isolated_redis_server.url, socket_timeout=0.5)
    lanes = Lanes(client)
    try:
        trips = [roundtrip(client, [("INCR", "n")], 0.5, lanes) for _ in range(3)]
        assert sorted(r[0] for r in await asyncio.gather(*trips)) == [1, 2, 3]
        assert len(lanes.idle) == 3
        isolated_redis_server.stop()
        isolated_redis_server.start()
        await other.ping()  # the event loop runs, and sees Redis close the idle sockets
        trips = [roundtrip(client, [("INCR", "n")], 0.5, lanes) for _ in range(3)]
        assert sorted(r[0] for r in await asyncio.gather(*trips)) == [1, 2, 3]
    finally:
        await client.aclose()
        await other.aclose()


async def test_a_stashed_trip_past_its_deadline_fails_and_leaves_no_late_reply(
    redis_url: str,
) -> None:
    """The lanes' watchdog cuts off a trip Redis does not answer in time; the next trip on the
    same lanes reads its own reply, not the late one."""
    client = aioredis.from_url(redis_url)
    lanes = Lanes(client)
    try:
        await roundtrip(client, [("SET", "k", "mine")], 1.0, lanes)
        with pytest.raises(TimeoutError):  # BLPOP itself would answer nil after 2 s
            await roundtrip(client, [("BLPOP", "nothing", "2")], 0.1, lanes)
        await roundtrip(client, [("RPUSH", "nothing", "late")], 1.0, lanes)
        assert await roundtrip(client, [("GET", "k")], 1.0, lanes) == [b"mine"]
        assert not lanes.due and not lanes.late
    finally:
        await client.aclose()
