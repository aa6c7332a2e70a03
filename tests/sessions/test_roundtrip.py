"""The lean Redis round trip on a pooled connection (the hop path's fallback without hiredis),
against a real Redis server."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from ussd_gateway.adapters.sessions.roundtrip import roundtrip, trip_timeout


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
