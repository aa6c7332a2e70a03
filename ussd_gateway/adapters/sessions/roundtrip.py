"""One Redis round trip on a pooled connection, without redis-py's per-call layers.

redis-py's pipeline wraps every execution in a retry helper, a command stack, a write timeout
that runs the send as an extra task (``asyncio.wait_for``) and a timeout context per reply; on
the hop path that was about half of the Redis client's CPU (see docs/performance.md). Here: one
connection from the client's pool, all commands packed into one write, the replies read back
under a single deadline for the whole trip. The hop path itself pipelines its trips over shared
connections (``sessions.multiplex``), and comes here only for a client without the hiredis
parser.

The failure contract is the pipeline's with ``raise_on_error=False``: a command's server error
(``NoScriptError`` included) comes back in its place; a dead socket or a missed deadline raises
(``ConnectionError``, ``TimeoutError``) and the connection is dropped, never returned to the
pool half-read. Nothing is retried: callers turn the error into ``StoreUnavailable`` and the
hop ends politely within the aggregator's deadline instead of waiting through reconnect
back-offs.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

try:  # hiredis (a core dependency via redis[hiredis]) packs a command in C, ~8x faster
    from hiredis import pack_command as _pack_one
except ImportError:  # pragma: no cover - redis without hiredis
    _pack_one = None

Command = Sequence[Any]


def packed(commands: Sequence[Command]) -> bytes:
    """``commands`` as one write, packed by hiredis (which must be installed)."""
    return b"".join([_pack_one(tuple(command)) for command in commands])


def _pack(conn: Any, commands: Sequence[Command]) -> list[bytes]:
    if _pack_one is None:
        return conn.pack_commands(commands)
    return [packed(commands)]


def trip_timeout(client: aioredis.Redis) -> float | None:
    """The client's socket timeout, used as the deadline of a whole round trip."""
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
    return float(timeout) if timeout else None


async def roundtrip(
    client: aioredis.Redis, commands: Sequence[Command], deadline: float | None
) -> list[Any]:
    """Send ``commands`` in one write and return their replies in order (errors in place)."""
    pool = client.connection_pool
    conn = await pool.get_connection()
    try:
        async with asyncio.timeout(deadline):
            await _send(conn, _pack(conn, commands))
            replies = await _read(conn, len(commands))
    except BaseException:
        await drop(pool, conn)
        raise
    await pool.release(conn)
    return replies


async def drop(pool: Any, conn: Any) -> None:
    """Close ``conn`` and hand it back: the pool reconnects it on its next use, so a closed,
    half-read or half-written connection never serves another request."""
    await conn.disconnect(nowait=True)
    await pool.release(conn)


async def _read(conn: Any, count: int) -> list[Any]:
    """``count`` replies, server errors in place."""
    replies: list[Any] = []
    for _ in range(count):
        try:
            # math.inf: no per-reply timeout context, the trip's deadline covers all
            replies.append(await conn.read_response(timeout=math.inf))
        except ResponseError as exc:
            replies.append(exc)
    return replies


async def _send(conn: Any, packed: list[bytes]) -> None:
    """Write the packed commands; ``send_packed_command`` would start a task per write to
    apply its timeout, which the caller's deadline already does."""
    writer = getattr(conn, "_writer", None)
    if writer is None or not conn.is_connected:
        await conn.send_packed_command(packed)
        return
    if conn.health_check_interval and asyncio.get_running_loop().time() > conn.next_health_check:
        await conn.check_health()  # only when due: the call itself cost ~2% of a hop's CPU
    try:
        writer.writelines(packed)
        await writer.drain()
    except OSError as exc:
        raise RedisConnectionError(f"error writing to redis: {exc}") from exc
