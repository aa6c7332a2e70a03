"""One Redis round trip without redis-py's per-call layers: the hop path's two trips use it.

redis-py's pipeline wraps every execution in a retry helper, a command stack, a write timeout
that runs the send as an extra task (``asyncio.wait_for``) and a timeout context per reply; on
the hop path that was about half of the Redis client's CPU (0.1 ms of ~0.2 ms per round trip,
see docs/performance.md). Here: one connection, all commands packed into one write, the replies
read back under a single deadline for the whole trip.

Connections come from a ``Lanes`` stash when the caller has one: a plain list of idle
connections this process already took from the client's pool, so a trip skips the pool's lock,
its readiness probe and its bookkeeping (about a fifth of a trip's CPU with redis-py 8). A
stashed connection whose socket Redis closed (a restart) is seen at checkout by ``Lanes.take``
and handed back to the pool, which reconnects it (the pool's own readiness probe is skipped by
redis-py 8 on RESP3 connections); none is ever reused half-read.

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

try:  # its parser hands back server errors as values: read them without read_response's layers
    from redis._parsers.hiredis import _AsyncHiredisParser
except ImportError:  # pragma: no cover - a redis-py without it
    _AsyncHiredisParser = None

Command = Sequence[Any]

STASH = 64
"""Idle connections a ``Lanes`` keeps at most; more go back to the pool."""
SWEEPS = 10
"""A ``Lanes`` watchdog sweeps this many times per trip deadline: a late trip ends within
1.1 deadlines."""
MIN_SWEEP = 0.005


def _pack(conn: Any, commands: Sequence[Command]) -> list[bytes]:
    if _pack_one is None:
        return conn.pack_commands(commands)
    return [b"".join([_pack_one(tuple(command)) for command in commands])]


def trip_timeout(client: aioredis.Redis) -> float | None:
    """The client's socket timeout, used as the deadline of a whole round trip."""
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
    return float(timeout) if timeout else None


class Lanes:
    """Idle connections of one client kept for the hop path's trips (see the module doc), and
    the watchdog that enforces those trips' deadlines.

    Connections stay checked out of the client's pool while stashed, so closing the client
    (``aclose`` disconnects in-use connections too) still closes them. Deadlines: a trip notes
    when it must end (``due``); a timer, armed only while trips are in flight, sweeps every
    ``deadline / SWEEPS`` and aborts the socket of a late trip, whose read then fails and which
    raises ``TimeoutError``. That is two dict operations per trip instead of a timeout context
    with its timer (``asyncio.timeout``, ~6 us), for a deadline kept within one sweep.
    """

    __slots__ = ("_timer", "client", "due", "idle", "late")

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.idle: list[Any] = []
        self.due: dict[Any, float] = {}
        """Connections on a trip, with the loop time the trip must end by."""
        self.late: set[Any] = set()
        """Connections whose trip the watchdog cut off."""
        self._timer: asyncio.TimerHandle | None = None

    async def take(self) -> Any:
        pool = self.client.connection_pool
        idle = self.idle
        while idle:
            conn = idle.pop()
            reader = getattr(conn, "_reader", None)
            if conn.is_connected and reader is not None and not reader.at_eof():
                return conn
            await _drop(pool, conn)  # closed by Redis while idle (a restart)
        return await pool.get_connection()

    async def give(self, conn: Any) -> None:
        if conn.is_connected and len(self.idle) < STASH:
            self.idle.append(conn)
        else:
            await self.client.connection_pool.release(conn)

    def watch(self, conn: Any, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        self.due[conn] = loop.time() + deadline
        if self._timer is None:
            tick = max(deadline / SWEEPS, MIN_SWEEP)
            self._timer = loop.call_later(tick, self._sweep, loop, tick)

    def unwatch(self, conn: Any) -> bool:
        """Forget the trip; True when the watchdog had cut it off."""
        self.due.pop(conn, None)
        if self.late and conn in self.late:
            self.late.discard(conn)
            return True
        return False

    def _sweep(self, loop: asyncio.AbstractEventLoop, tick: float) -> None:
        self._timer = None
        now = loop.time()
        for conn in [conn for conn, due in self.due.items() if due <= now]:
            del self.due[conn]
            self.late.add(conn)
            transport = getattr(getattr(conn, "_writer", None), "transport", None)
            if transport is not None:
                transport.abort()  # the pending read or drain fails at once
        if self.due:
            self._timer = loop.call_later(tick, self._sweep, loop, tick)


async def roundtrip(
    client: aioredis.Redis,
    commands: Sequence[Command],
    deadline: float | None,
    lanes: Lanes | None = None,
) -> list[Any]:
    """Send ``commands`` in one write and return their replies in order (errors in place)."""
    if lanes is not None and deadline is not None:
        return await _watched(lanes, commands, deadline)
    pool = client.connection_pool
    conn = await (pool.get_connection() if lanes is None else lanes.take())
    try:
        async with asyncio.timeout(deadline):
            await _send(conn, _pack(conn, commands))
            replies = await _read(conn, len(commands))
    except BaseException:
        await _drop(pool, conn)
        raise
    if lanes is None:
        await pool.release(conn)
    else:
        await lanes.give(conn)
    return replies


async def _watched(lanes: Lanes, commands: Sequence[Command], deadline: float) -> list[Any]:
    """``roundtrip`` on a stashed connection, its deadline kept by the lanes' watchdog."""
    conn = await lanes.take()
    lanes.watch(conn, deadline)
    try:
        await _send(conn, _pack(conn, commands))
        replies = await _read(conn, len(commands))
    except BaseException as exc:
        late = lanes.unwatch(conn)
        await _drop(lanes.client.connection_pool, conn)
        if late:
            raise TimeoutError(f"redis did not answer within {deadline}s") from exc
        raise
    if lanes.unwatch(conn):  # answered, but cut off in the same instant: never reuse it
        await _drop(lanes.client.connection_pool, conn)
    else:
        await lanes.give(conn)
    return replies


async def _drop(pool: Any, conn: Any) -> None:
    """Close ``conn`` and hand it back: the pool reconnects it on its next use, so a closed,
    half-read or half-written connection never serves another request."""
    await conn.disconnect(nowait=True)
    await pool.release(conn)


async def _read(conn: Any, count: int) -> list[Any]:
    """``count`` replies, server errors in place. With hiredis straight from its parser, which
    returns server errors as values (and skips push messages); otherwise ``read_response``."""
    replies: list[Any] = []
    parser = getattr(conn, "_parser", None)
    if _AsyncHiredisParser is not None and type(parser) is _AsyncHiredisParser:
        try:
            for _ in range(count):
                replies.append(await parser.read_response())
        except OSError as exc:
            raise RedisConnectionError(f"error reading from redis: {exc}") from exc
        if conn.health_check_interval:
            conn.next_health_check = asyncio.get_running_loop().time() + conn.health_check_interval
        return replies
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
    if conn.health_check_interval:
        await conn.check_health()
    try:
        writer.writelines(packed)
        await writer.drain()
    except OSError as exc:
        raise RedisConnectionError(f"error writing to redis: {exc}") from exc
