"""Many citizens press send while every PostgreSQL reply is late: each sees their own reference
on their next hop or their redial, and each submission is stored once.

The slow database is a real one behind a TCP proxy that holds each of its replies back; the
gateway talks to it as it would to a loaded server (group commit, timeouts, still working).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from tests.guard.helpers import start
from tests.guard.test_deadline import (
    postgresql_url,  # noqa: F401 - the fixture
    settled,
)
from tests.guard.test_unconfirmed_submission import confirm_screen, stored_references
from tests.support.phone import Phone
from ussd_gateway.http.keys import SUBMISSIONS

CITIZENS = 10
REPLY_DELAY = 0.25
"""Seconds each reply of the database is held back once the citizens press send."""

REFERENCE = re.compile(r"Namba ya kumbukumbu: (\w+)")


class SlowReplies:
    """A TCP proxy to a database that holds each of its replies back ``delay`` seconds (in
    order): requests go through at once, answers come late."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.delay = 0.0
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _serve(self, client: asyncio.StreamReader, back: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            server, forth = await asyncio.open_connection(self.host, self.port)
            await asyncio.gather(self._forward(client, forth), self._hold_back(server, back))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.tasks.discard(task)
            back.close()

    @staticmethod
    async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def _hold_back(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    return
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            while data := await reader.read(65536):
                queue.put_nowait((loop.time() + self.delay, data))
            queue.put_nowait((0.0, b""))
            await sender
        finally:
            sender.cancel()


@pytest.fixture
async def slow_url(postgresql_url: str) -> AsyncIterator[tuple[str, SlowReplies]]:  # noqa: F811
    url = make_url(postgresql_url)
    proxy = SlowReplies(url.host or "127.0.0.1", url.port or 5432)
    port = await proxy.start()
    try:
        yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False), proxy
    finally:
        await proxy.close()


async def test_every_citizen_sees_their_own_reference_once_stored(
    aiohttp_client,
    slow_url,
    postgresql_url: str,  # noqa: F811
) -> None:
    url, proxy = slow_url
    client = await start(
        aiohttp_client,
        database_url=url,
        sections={"limits": {"hop_deadline": 0.3}},
        submit_timeout=0.6,
        lookup_timeout=0.5,
    )
    phones: list[Phone] = [
        await confirm_screen(client, f"+2557123{n:05d}") for n in range(CITIZENS)
    ]

    proxy.delay = REPLY_DELAY
    pressed = await asyncio.gather(*(phone.send("1") for phone in phones))
    late = sum(not answer.startswith("END Asante!") for answer in pressed)
    assert late > 0  # the database is slow enough that some hops overran their deadline
    for _ in range(400):  # bounded: until every write has landed
        if await client.app[SUBMISSIONS].count() >= CITIZENS:
            break
        await asyncio.sleep(0.05)
    for phone in phones:  # and the gateway has heard back, and saved each session
        await settled(client, f"africastalking:{phone.session_id}", phone.text)
    proxy.delay = 0.0

    shown = []
    for n, (phone, answer) in enumerate(zip(phones, pressed, strict=True)):
        if answer.startswith("END Asante!"):
            shown.append(answer)
        elif n % 2:
            shown.append(await phone.send("1"))  # "1. Continue"
        else:
            shown.append(await phone.dial())  # the call dropped: they dial again
    references = []
    for screen in shown:
        assert screen.startswith("END Asante!"), screen
        found = REFERENCE.search(screen)
        assert found is not None
        references.append(found.group(1))
    assert len(set(references)) == CITIZENS  # each their own
    assert sorted(references) == sorted(await stored_references(postgresql_url))
    assert await client.app[SUBMISSIONS].count() == CITIZENS
