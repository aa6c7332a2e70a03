"""The hop path's Redis calls: small Lua functions; the calls of a few event-loop turns run
together as one script call (one command, one reply).

Under load many hops want a round trip at the same moment. A command each (even pipelined)
pays redis-py's per-command work: encoding every argument in Python, a timed read per reply,
the pipeline's bookkeeping; measured, that was most of the Redis client's CPU per hop. Here each
component registers named Lua functions (the body of a script: it reads ``KEYS`` and ``ARGV``);
``submit`` queues a call; a turn or three later (``LINGER_TURNS``) every queued call leaves as ONE
``EVALSHA`` of a dispatcher script whose only argument is the calls as JSON (encoded in C by
orjson), and the reply (parsed in C by hiredis) is one array with each call's result. One batch
is out at a time: calls queued meanwhile leave together when its reply is back. Measured under
load, few large batches instead of many small ones was most of the saving: a batch costs more
than its calls (two builds served side by side, CPU per hop: 1.21-1.31x the old multiplexer's
with a batch per loop turn, 0.91-0.97x like this). All
through redis-py's public API: ``register_script``, and a connection of the client's pool
(``get_connection``, ``send_packed_command``, ``read_response``, ``release``): a command through
the client would add, per batch, a task to time its write, a timeout per read and
observability hooks.

Each call runs inside ``pcall``: a failing call is that caller's error only. A connection
failure or timeout fails every call of the batch (each caller then ends its hop politely).
Calls of a batch run in one script, so Redis runs them back to back; each call is atomic.

The keys a function touches are passed to it (as its ``KEYS``) inside the JSON, not as the
script's declared keys: one Redis server does not mind. Redis Cluster runs a script on the node
of its declared keys, and only on keys of one slot: on a cluster client a batch leaves as one
script call per slot, each declaring one key of its slot (so redis-py's cluster client routes
it, and follows a moved slot or a failover), the slots' calls sent together. Every call's keys
must then share a slot (hash tags); a call whose keys do not is failed alone, before sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from ussd_gateway.adapters.redis.client import TIMEOUT, is_cluster

log = logging.getLogger(__name__)

# ARGV[1]: [[name, keys, args], ...]. Returns, per call, {1, result} or {0, error message}.
_DISPATCH = """
local calls = cjson.decode(ARGV[1])
local out = {}
for i, call in ipairs(calls) do
  local fn = functions[call[1]]
  if fn == nil then
    out[i] = {0, 'no function ' .. tostring(call[1])}
  else
    local ok, result = pcall(fn, call[2], call[3])
    if ok then
      out[i] = {1, result}
    else
      out[i] = {0, type(result) == 'table' and result.err or tostring(result)}
    end
  end
end
return out
"""

Value = str | int | float

LINGER_TURNS = 2
"""Loop turns a small batch waits for more calls before it leaves (no timer: the loop runs its
other ready work in between, so an idle gateway loses microseconds)."""
FULL_BATCH = 16
"""Calls that make a batch worth sending without waiting."""


class Batcher:
    """Batches the calls of one client; one per client, shared by everything that uses it."""

    def __init__(self, client: aioredis.Redis | RedisCluster, *, timeout: float = TIMEOUT) -> None:
        self.client = client
        self.timeout = timeout
        """Seconds a batch's round trip may take, its write and its read together."""
        self._functions: dict[str, str] = {}
        self._script: Any = None
        self._queued: list[tuple[list[Any], asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._cluster = is_cluster(client)

    def register(self, functions: Mapping[str, str]) -> None:
        """Add Lua functions by name; each body reads ``KEYS`` and ``ARGV`` as a script does."""
        for name, body in functions.items():
            known = self._functions.get(name)
            if known is not None and known != body:
                raise ValueError(f"Redis function {name!r} registered twice, differently")
            self._functions[name] = body
        self._script = None  # the dispatcher is built again, with every function

    def _dispatcher(self) -> Any:
        if self._script is None:
            lines = ["local functions = {}"]
            for name, body in sorted(self._functions.items()):
                lines.append(f"functions[{orjson.dumps(name).decode()}] = function(KEYS, ARGV)")
                lines.append(body.strip("\n"))
                lines.append("end")
            self._script = self.client.register_script("\n".join(lines) + _DISPATCH)
        return self._script

    def submit(
        self, name: str, keys: Sequence[str], args: Sequence[Value] = ()
    ) -> asyncio.Future[Any]:
        """Queue a call of the function ``name``: the future of its result, or of the server's
        error (``ResponseError``) or the connection's. A caller that does not need the result
        before going on (the guard's counters) need not await it."""
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._flush)  # runs once this turn's ready callbacks have queued
        self._queued.append(([name, keys, [a if type(a) is str else str(a) for a in args]], reply))
        return reply

    def _flush(self, lingered: int = 0) -> None:
        if self._sending:  # a batch is out: these calls leave with the next, once it is back
            return
        if lingered < LINGER_TURNS and len(self._queued) < FULL_BATCH:
            asyncio.get_running_loop().call_soon(self._flush, lingered + 1)
            return
        task = asyncio.get_running_loop().create_task(self._sender())
        self._sending.add(task)  # a task is only weakly held by the loop
        task.add_done_callback(self._sending.discard)

    async def _sender(self) -> None:
        """Sends batches one at a time while calls are queued: the calls that arrive while a
        batch is out wait for its reply, and leave together."""
        while self._queued:
            batch, self._queued = self._queued, []
            await self._send(batch)

    async def _send(self, batch: list[tuple[list[Any], asyncio.Future[Any]]]) -> None:
        """In a task of its own: a caller giving up (cancelled) never breaks the others' calls."""
        if self._cluster:
            await self._send_by_slot(batch)
            return
        await self._send_to(batch, None)

    async def _send_by_slot(self, batch: list[tuple[list[Any], asyncio.Future[Any]]]) -> None:
        """A cluster's batch: one script call per slot, all sent together."""
        slots: dict[int, list[tuple[list[Any], asyncio.Future[Any]]]] = {}
        for call, reply in batch:
            found = {self.client.keyslot(key) for key in call[1]}
            if len(found) != 1:
                if not reply.done():
                    reply.set_exception(
                        ResponseError(f"{call[0]}: keys {call[1]!r} are not on one cluster slot")
                    )
                continue
            slots.setdefault(found.pop(), []).append((call, reply))
        await asyncio.gather(*(self._send_to(calls, calls[0][0][1][0]) for calls in slots.values()))

    async def _send_to(
        self, batch: list[tuple[list[Any], asyncio.Future[Any]]], key: str | None
    ) -> None:
        """One script call for ``batch``: declaring ``key`` (a cluster's slot), or none."""
        calls = orjson.dumps([call for call, _ in batch])
        try:
            results = await (self._evaluate(calls) if key is None else self._on_slot(key, calls))
        except Exception as exc:
            for _, reply in batch:
                if not reply.done():
                    reply.set_exception(exc)
            return
        except BaseException:  # cancelled (the loop is closing): nobody gets a reply
            for _, reply in batch:
                reply.cancel()
            raise
        for (_, reply), result in zip(batch, results, strict=True):
            if reply.done():
                continue
            if result[0] == 1:
                reply.set_result(result[1] if len(result) > 1 else None)
            else:
                message = result[1]
                reply.set_exception(
                    ResponseError(message.decode() if isinstance(message, bytes) else message)
                )

    async def _evaluate(self, calls: bytes) -> Any:
        """The dispatcher's reply; its script loaded again when Redis lost it (it restarted,
        or its script cache was flushed), and once more on a fresh connection when a pooled one
        was dropped (left over from before a Redis restart)."""
        script = self._dispatcher()
        try:
            return await self._round_trip(script.sha, calls)
        except NoScriptError:
            await self.client.script_load(script.script)
        except RedisConnectionError:
            pass
        return await self._round_trip(script.sha, calls)

    async def _on_slot(self, key: str, calls: bytes) -> Any:
        """The dispatcher's reply from the node serving ``key``'s slot, through the cluster
        client (which follows MOVED replies and refreshes its map after a failover); the
        script loaded again on a node that lacks it (a promoted replica)."""
        script = self._dispatcher()
        async with asyncio.timeout(self.timeout):
            try:
                return await self.client.evalsha(script.sha, 1, key, calls)
            except NoScriptError:
                await self.client.script_load(script.script)
            return await self.client.evalsha(script.sha, 1, key, calls)

    async def _round_trip(self, sha: str, calls: bytes) -> Any:
        """One command on one of the pool's connections, under one deadline for the write and
        the read together (the connections have no per-read timeout of their own: see
        ``client.connect``); a connection cut off mid-command is closed, never reused."""
        pool = self.client.connection_pool
        connection = await pool.get_connection()
        try:
            async with asyncio.timeout(self.timeout):
                await connection.send_packed_command(
                    connection.pack_command("EVALSHA", sha, 0, calls)
                )
                reply = await connection.read_response()
        except ResponseError:  # the server answered: the connection is fine
            await pool.release(connection)
            raise
        except BaseException:
            await connection.disconnect(nowait=True)
            await pool.release(connection)
            raise
        await pool.release(connection)
        return reply

    async def close(self) -> None:
        """Let calls already sent finish (their callers are waiting for them)."""
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=1.0)
