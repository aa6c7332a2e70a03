"""Concurrent Redis trips of one event-loop turn sent as one pipeline: one write, one read.

Under load many hops want a round trip at the same moment; each paying redis-py's per-call
machinery (a connection from the pool, a write, a read with its own timeout) was most of the
Redis client's CPU per hop. Trips queued in one loop turn go out together through the public
``pipeline(transaction=False)`` in the next turn: one connection, one write, the replies read
back in order and handed to each caller. Alone, a trip costs what a single call would.

A trip's server errors come back in place (``NoScriptError`` included: the caller reloads its
script); a connection failure or timeout fails every trip of that pipeline, each caller then
ending its hop politely. Commands of one trip are not atomic unless they are one script.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

Command = Sequence[Any]


class Batcher:
    """Batches the trips of one client; one per client, shared by everything that uses it."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._queued: list[tuple[Sequence[Command], asyncio.Future[list[Any]]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def trip(self, commands: Sequence[Command]) -> list[Any]:
        """Send ``commands`` (with this turn's other trips) and return their replies in order."""
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[list[Any]] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._flush)  # runs once this turn's ready callbacks have queued
        self._queued.append((commands, reply))
        return await reply

    def _flush(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)  # a task is only weakly held by the loop
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Sequence[Command], asyncio.Future[list[Any]]]]) -> None:
        """In a task of its own: a caller giving up (cancelled) never breaks the others' trip."""
        pipe = self.client.pipeline(transaction=False)
        for commands, _ in batch:
            for command in commands:
                pipe.execute_command(*command)
        try:
            replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            for _, reply in batch:
                if not reply.done():
                    reply.set_exception(exc)
            return
        except BaseException:  # cancelled (the loop is closing): nobody gets a reply
            for _, reply in batch:
                reply.cancel()
            raise
        start = 0
        for commands, reply in batch:
            end = start + len(commands)
            if not reply.done():
                reply.set_result(replies[start:end])
            start = end

    async def close(self) -> None:
        """Let trips already sent finish (their callers are waiting for them)."""
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=1.0)
