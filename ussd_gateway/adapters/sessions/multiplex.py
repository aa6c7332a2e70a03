"""The hop path's Redis trips, pipelined: concurrent hops share a connection and its writes.

Each hop makes two trips (lock + read, write + unlock). On a connection of its own each trip
paid a ``send()`` system call, its own reads and the checkout of an idle connection: about a
sixth of the gateway's CPU under load (docs/performance.md). Here a ``Multiplexer`` keeps
``LINES`` connections (one: a second cost more CPU per hop, Redis being single-threaded); the
trips that hops issue within one event-loop turn are packed into one write at the end of the
turn (``call_soon``: ~14 trips per write at 50 concurrent hops), and the replies, which Redis
sends back in the order it got the commands, are handed to each trip as they are parsed
(hiredis, in the connection's ``data_received``: no reader task, no await per reply). Each
command is still atomic on its own; nothing is wrapped in MULTI, so locking works exactly as
before.

Failure contract (``roundtrip``'s): a server error (``NoScriptError`` included) comes back in
place of its command's reply and touches no other trip. A connection that breaks, or whose
oldest trip misses its deadline, fails every trip pending on it (the late ones with
``TimeoutError``, within 1.1 deadlines) and is closed, so a late reply can never reach
another trip; the next trip opens a fresh connection. A connection Redis closes while idle
(a restart) is known at once from ``connection_lost`` and replaced, never used. Nothing is
retried: the store turns the error into ``StoreUnavailable`` and the hop ends politely.

Connections are opened, authenticated and ``SELECT``-ed by the client's pool; the multiplexer
then takes over their socket (``transport.set_protocol``). A client without the hiredis parser
gets ``roundtrip`` on a pooled connection per trip instead.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse

from ussd_gateway.adapters.sessions.roundtrip import Command, drop, packed, roundtrip

try:  # both ship with redis[hiredis], a core dependency
    import hiredis
    from redis._parsers.hiredis import _AsyncHiredisParser
except ImportError:  # pragma: no cover - redis without hiredis: every trip uses roundtrip
    hiredis = None
    _AsyncHiredisParser = None

LINES = 1
"""Connections a multiplexer spreads its trips over (round robin)."""
SWEEPS = 10
"""The deadline watchdog sweeps this many times per trip deadline: a late trip ends within
1.1 deadlines."""
MIN_SWEEP = 0.005

_PING = hiredis.pack_command(("PING",)) if hiredis is not None else b""
_MORE = object()
"""What the hiredis reader returns while a reply is incomplete."""
_PUSH = getattr(hiredis, "PushNotification", None)
"""RESP3 push messages (hiredis >= 3.2) answer no trip: skipped."""


class _Trip:
    __slots__ = ("count", "due", "future", "packed", "replies")

    def __init__(
        self, future: asyncio.Future[list[Any]], packed: bytes, count: int, due: float
    ) -> None:
        self.future = future
        self.packed = packed
        self.count = count
        self.due = due
        self.replies: list[Any] = []


class _Line(asyncio.Protocol):
    """One connection's socket: writes queued trips once per loop turn, parses replies and
    hands them to the trips in order."""

    def __init__(self, conn: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.conn = conn
        self.loop = loop
        self.queue: list[_Trip] = []
        """Trips of this turn, not yet written."""
        self.inflight: deque[_Trip] = deque()
        """Written trips, oldest first: the order of the replies to come."""
        self.dead = False
        self.heard = loop.time()
        """When Redis last sent something on this connection."""
        self._flushing = False
        reader_options: dict[str, Any] = {
            "protocolError": InvalidResponse,
            "replyError": conn._parser.parse_error,  # server errors as values, as redis-py's
            "notEnoughData": _MORE,
        }
        if conn.encoder.decode_responses:
            reader_options["encoding"] = conn.encoder.encoding
            reader_options["errors"] = conn.encoder.encoding_errors
        self.reader = hiredis.Reader(**reader_options)
        self.transport: asyncio.Transport = conn._writer.transport
        self._stream = self.transport.get_protocol()
        """redis-py's protocol, told when the socket closes so its ``wait_closed`` returns."""
        self.transport.set_protocol(self)

    def send(self, trip: _Trip) -> None:
        if self.dead:  # closed between its opening and this trip
            trip.future.set_exception(RedisConnectionError("redis closed the connection"))
            return
        self.queue.append(trip)
        if not self._flushing:
            self._flushing = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flushing = False
        if self.dead:
            return  # its trips were failed when it died
        if self.transport.is_closing():  # closed (EOF, or by the pool): connection_lost is due
            self.die("redis closed the connection")
            return
        queue, self.queue = self.queue, []
        batch = [trip for trip in queue if not trip.future.done()]  # skip cancelled trips
        if batch:
            self.inflight.extend(batch)
            self.transport.write(b"".join([trip.packed for trip in batch]))

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        inflight = self.inflight
        reader.feed(data)
        self.heard = self.loop.time()
        try:
            while (reply := reader.gets()) is not _MORE:
                if _PUSH is not None and type(reply) is _PUSH:
                    continue
                trip = inflight[0]
                replies = trip.replies
                replies.append(reply)
                if len(replies) == trip.count:
                    inflight.popleft()
                    if not trip.future.done():
                        _settle(trip.future, replies)
        except Exception as exc:  # a protocol error, or a reply no trip asked for (IndexError)
            self.die(f"unreadable reply from redis: {exc!r}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.die(f"redis closed the connection: {exc or 'EOF'}")
        self._stream.connection_lost(exc)

    def die(self, why: str, late: str = "", now: float = 0.0) -> None:
        """Fail every trip pending here (with ``late``, those due by ``now`` with
        ``TimeoutError``) and close the socket: no reply still on its way can reach another
        trip."""
        if self.dead:
            return
        self.dead = True
        pending = [*self.inflight, *self.queue]
        self.inflight.clear()
        self.queue.clear()
        for trip in pending:
            if trip.future.done():
                continue
            if late and trip.due <= now:
                trip.future.set_exception(TimeoutError(late))
            else:
                trip.future.set_exception(RedisConnectionError(why))
        self.transport.abort()

    def oldest_due(self) -> float | None:
        if self.inflight:
            return self.inflight[0].due
        if self.queue:
            return self.queue[0].due
        return None


def _settle(future: asyncio.Future[list[Any]], replies: list[Any]) -> None:
    """A reply that is a connection error (Redis loading, too many clients) fails its trip,
    as redis-py's parser raises it."""
    for reply in replies:
        if isinstance(reply, RedisConnectionError):
            future.set_exception(reply)
            return
    future.set_result(replies)


class Multiplexer:
    """The hop path's shared connections to one client's Redis, and the watchdog that keeps
    its trips' deadlines (``deadline`` seconds per trip; None waits as long as it takes)."""

    def __init__(self, client: aioredis.Redis, deadline: float | None, lines: int = LINES) -> None:
        self.client = client
        self.deadline = deadline
        self._lines: list[_Line | None] = [None] * lines
        self._opening: list[asyncio.Future[_Line | None] | None] = [None] * lines
        self._turn = 0
        self._fallback = _AsyncHiredisParser is None
        """True when the client's connections do not parse with hiredis: trips use
        ``roundtrip`` on a pooled connection each."""
        self._timer: asyncio.TimerHandle | None = None
        interval = client.connection_pool.connection_kwargs.get("health_check_interval")
        self._quiet = float(interval) if interval else float("inf")
        """Seconds a connection may go without a reply before a trip checks it first."""

    async def trip(self, commands: Sequence[Command]) -> list[Any]:
        """Send ``commands`` and return their replies in order (server errors in place)."""
        if self._fallback:
            return await roundtrip(self.client, commands, self.deadline)
        writes = packed(commands)
        slot = self._turn
        if len(self._lines) > 1:
            self._turn = (slot + 1) % len(self._lines)
        line = self._lines[slot]
        if line is None or line.dead or line.loop.time() - line.heard > self._quiet:
            line = await self._ready(slot, line)
            if line is None:
                return await roundtrip(self.client, commands, self.deadline)
        return await self._send(line, writes, len(commands))

    def _send(self, line: _Line, packed: bytes, count: int) -> asyncio.Future[list[Any]]:
        loop = line.loop
        future: asyncio.Future[list[Any]] = loop.create_future()
        deadline = self.deadline
        if deadline is None:
            line.send(_Trip(future, packed, count, float("inf")))
        else:
            line.send(_Trip(future, packed, count, loop.time() + deadline))
            if self._timer is None:
                tick = max(deadline / SWEEPS, MIN_SWEEP)
                self._timer = loop.call_later(tick, self._sweep, loop, tick)
        return future

    async def _ready(self, slot: int, line: _Line | None) -> _Line | None:
        """A working connection for the slot: a new one for a closed one, and a PING first on
        one quiet for longer than the client's ``health_check_interval`` (a firewall may have
        dropped it without a word), replaced when the PING fails, as redis-py's health check
        does."""
        if line is None or line.dead:
            return await self._open(slot)
        line.heard = line.loop.time()  # trips of the next moments queue behind this PING
        try:
            await self._send(line, _PING, 1)
        except (RedisConnectionError, OSError):
            line.die("failed its health check")
            return await self._open(slot)
        return line

    async def _open(self, slot: int) -> _Line | None:
        """The slot's connection, opened once for all the trips waiting on it (one failed
        attempt fails them all, instead of each waiting for its own)."""
        opening = self._opening[slot]
        if opening is None:
            opening = self._opening[slot] = asyncio.ensure_future(self._connect(slot))
            opening.add_done_callback(lambda done: self._opened(slot, done))
        return await asyncio.shield(opening)

    def _opened(self, slot: int, done: asyncio.Future[_Line | None]) -> None:
        self._opening[slot] = None
        if not done.cancelled():
            done.exception()  # retrieved even when every waiter was cancelled

    async def _connect(self, slot: int) -> _Line | None:
        pool = self.client.connection_pool
        old, self._lines[slot] = self._lines[slot], None
        if old is not None:
            await drop(pool, old.conn)
        conn = await pool.get_connection()
        try:
            if type(getattr(conn, "_parser", None)) is not _AsyncHiredisParser:
                self._fallback = True
                await pool.release(conn)
                return None
            if not _clean(conn):  # closed by Redis while idle in the pool, or half-read
                await conn.disconnect(nowait=True)
                await conn.connect()
                if not _clean(conn):
                    raise RedisConnectionError("redis closed a new connection")
            line = self._lines[slot] = _Line(conn, asyncio.get_running_loop())
        except BaseException:
            await drop(pool, conn)
            raise
        return line

    def _sweep(self, loop: asyncio.AbstractEventLoop, tick: float) -> None:
        """Close every connection whose oldest trip is past its deadline."""
        self._timer = None
        now = loop.time()
        busy = False
        for line in self._lines:
            if line is None or line.dead:
                continue
            due = line.oldest_due()
            if due is None:
                continue
            if due <= now:
                late = f"redis did not answer within {self.deadline}s"
                line.die(f"dropped: an earlier trip on its connection failed: {late}", late, now)
            else:
                busy = True
        if busy:
            self._timer = loop.call_later(tick, self._sweep, loop, tick)

    async def close(self) -> None:
        """Fail pending trips and hand the connections back to the client's pool, closed."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for opening in self._opening:
            if opening is not None:
                opening.cancel()
        pool = self.client.connection_pool
        for slot, line in enumerate(self._lines):
            self._lines[slot] = None
            if line is not None:
                line.die("the session store closed")
                await drop(pool, line.conn)


def _clean(conn: Any) -> bool:
    """Connected, open, and with nothing unread: safe to take over."""
    reader = getattr(conn, "_reader", None)
    writer = getattr(conn, "_writer", None)
    return (
        conn.is_connected
        and reader is not None
        and writer is not None
        and not reader.at_eof()
        and not reader._buffer
        and not writer.transport.is_closing()
        and not conn._parser._reader.has_data()
    )
