"""A submission whose write outlasts the hop is shown to the citizen once stored, never filed twice.

The slow database is real: another connection holds the submissions table (PostgreSQL: an
``ACCESS EXCLUSIVE`` lock; SQLite: a write transaction), so the gateway's ``INSERT`` waits in
the database, outlasts the hop's deadline and the submit timeout, and commits once released,
as it does when every reply of a loaded database is late.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from tests.guard.helpers import start
from tests.guard.test_deadline import STILL_WORKING, settled
from tests.support.phone import Phone
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.http.keys import SUBMISSIONS

RESUME = "CON Hukumaliza e-Mrejesho."
CONFIRM = "Tuma"
NOT_CONFIRMED = "CON Tunathibitisha ombi lako; tuma tena.\n"

Blocker = Callable[[], AbstractAsyncContextManager[Callable[[], Awaitable[None]]]]


def blocker(url: str) -> Blocker:
    """Holds the submissions table until the ``release`` it yields is awaited (or the block
    ends): writes wait in the database meanwhile."""

    @asynccontextmanager
    async def postgresql() -> AsyncIterator[Callable[[], Awaitable[None]]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                transaction = await connection.begin()
                await connection.execute(text("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE"))

                async def release() -> None:
                    if transaction.is_active:
                        await transaction.rollback()

                try:
                    yield release
                finally:
                    await release()
        finally:
            await engine.dispose()

    @asynccontextmanager
    async def sqlite() -> AsyncIterator[Callable[[], Awaitable[None]]]:
        connection = sqlite3.connect(
            make_url(url).database or "", isolation_level=None, check_same_thread=False
        )
        # the one writer: the gateway's INSERT waits (taken off the loop: the gateway's own
        # writes in flight must finish first)
        await asyncio.to_thread(connection.execute, "BEGIN IMMEDIATE")

        async def release() -> None:
            if connection.in_transaction:
                connection.rollback()

        try:
            yield release
        finally:
            await release()
            connection.close()

    return postgresql if url.startswith("postgresql") else sqlite


async def stored_references(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(select(Submission.reference))).scalars())
    finally:
        await engine.dispose()


async def landed(client, count: int = 1) -> None:
    """Wait (bounded) until the released write has committed."""
    for _ in range(200):
        if await client.app[SUBMISSIONS].count() >= count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the submission never landed")


async def confirm_screen(client, number: str = "+255712345678") -> Phone:
    """A citizen on the confirm screen of an anonymous complaint."""
    phone = Phone(client, number=number)
    await phone.dial()
    assert "Andika ujumbe wako" in await phone.walk("1", "1", "2")
    await phone.send("Risiti haikuja kwa wiki mbili")
    assert CONFIRM in await phone.send("2")  # anonymous
    return phone


async def gateway(aiohttp_client, database_url: str, store_url: str | None):
    return await start(
        aiohttp_client,
        database_url=database_url,
        redis_url=store_url,
        sections={"limits": {"hop_deadline": 0.3}},
        submit_timeout=0.6,
        lookup_timeout=0.2,
    )


async def test_the_next_hop_shows_the_reference_of_a_write_that_landed_late(
    aiohttp_client, database_url, store_url
) -> None:
    client = await gateway(aiohttp_client, database_url, store_url)
    phone = await confirm_screen(client)
    async with blocker(database_url)() as release:
        assert await phone.send("1") == STILL_WORKING
        # the late hop gave up waiting (submit timeout) and saved the session
        await settled(client, f"africastalking:{phone.session_id}", phone.text)
        await release()
        await landed(client)
    [reference] = await stored_references(database_url)

    done = await phone.send("1")  # "1. Continue": one press, and the reference is there
    assert done.startswith("END Asante!") and f"Namba ya kumbukumbu: {reference}" in done
    assert await phone.post() == done  # the aggregator retrying gets the same screen
    assert await client.app[SUBMISSIONS].count() == 1


async def test_send_pressed_again_while_the_write_is_in_flight_files_it_once(
    aiohttp_client, database_url, store_url
) -> None:
    client = await gateway(aiohttp_client, database_url, store_url)
    phone = await confirm_screen(client)
    async with blocker(database_url)() as release:
        assert await phone.send("1") == STILL_WORKING
        await settled(client, f"africastalking:{phone.session_id}", phone.text)
        unconfirmed = await phone.send("1")  # the replay: not stored yet, and said so
        assert unconfirmed.startswith(NOT_CONFIRMED) and CONFIRM in unconfirmed
        await release()
    done = await phone.send("1")  # send again: the same submission's reference
    [reference] = await stored_references(database_url)
    assert done.startswith("END Asante!") and f"Namba ya kumbukumbu: {reference}" in done
    assert await client.app[SUBMISSIONS].count() == 1


async def test_a_redial_shows_the_reference_of_the_write_its_dropped_call_left(
    aiohttp_client, database_url, store_url
) -> None:
    client = await gateway(aiohttp_client, database_url, store_url)
    phone = await confirm_screen(client)
    async with blocker(database_url)() as release:
        assert await phone.send("1") == STILL_WORKING
        await settled(client, f"africastalking:{phone.session_id}", phone.text)
        await release()
        await landed(client)
    [reference] = await stored_references(database_url)

    # the call dropped after "still working"; the citizen dials again
    shown = await phone.dial()
    assert shown.startswith("END Asante!") and f"Namba ya kumbukumbu: {reference}" in shown
    assert await client.app[SUBMISSIONS].count() == 1
    assert (await phone.dial()).startswith("CON Karibu e-Mrejesho")  # shown once, then fresh


async def test_a_redial_while_the_write_is_in_flight_never_files_it_twice(
    aiohttp_client, database_url, store_url
) -> None:
    client = await gateway(aiohttp_client, database_url, store_url)
    phone = await confirm_screen(client)
    async with blocker(database_url)() as release:
        assert await phone.send("1") == STILL_WORKING
        await settled(client, f"africastalking:{phone.session_id}", phone.text)
        # the call dropped; the citizen dials again while the write still waits
        assert (await phone.dial()).startswith(RESUME)
        await release()
        await landed(client)
    [reference] = await stored_references(database_url)

    resumed = await phone.send("1")  # continue where I was: the reference, not send again
    assert resumed.startswith("END Asante!") and f"Namba ya kumbukumbu: {reference}" in resumed
    assert await client.app[SUBMISSIONS].count() == 1


async def test_a_redial_then_send_again_files_nothing_twice(
    aiohttp_client, database_url, store_url
) -> None:
    client = await gateway(aiohttp_client, database_url, store_url)
    phone = await confirm_screen(client)
    async with blocker(database_url)() as release:
        assert await phone.send("1") == STILL_WORKING
        await settled(client, f"africastalking:{phone.session_id}", phone.text)
        assert (await phone.dial()).startswith(RESUME)
        assert CONFIRM in await phone.send("1")  # back on the confirm screen, not yet stored
        await release()
    done = await phone.send("1")  # send from the resumed journey: the same submission
    [reference] = await stored_references(database_url)
    assert done.startswith("END Asante!") and f"Namba ya kumbukumbu: {reference}" in done
    assert await client.app[SUBMISSIONS].count() == 1


async def test_a_redial_shows_the_reference_a_late_hop_stored_after_the_call_dropped(
    aiohttp_client, database_url, store_url
) -> None:
    client = await start(
        aiohttp_client,
        database_url=database_url,
        redis_url=store_url,
        sections={"limits": {"hop_deadline": 0.3}},
        submit_timeout=10.0,  # the late hop waits for its write and ends on the reference
    )
    phone = await confirm_screen(client)
    async with blocker(database_url)() as release:
        assert await phone.send("1") == STILL_WORKING
        await release()
    await settled(client, f"africastalking:{phone.session_id}", phone.text)
    [reference] = await stored_references(database_url)

    # the call dropped after "still working": the reference was never shown
    shown = await phone.dial()
    assert shown.startswith("END Asante!") and f"Namba ya kumbukumbu: {reference}" in shown
    assert (await phone.dial()).startswith("CON Karibu e-Mrejesho")  # once only
    assert await client.app[SUBMISSIONS].count() == 1


async def test_a_reference_seen_after_still_working_is_not_shown_again_on_a_redial(
    aiohttp_client, database_url, store_url
) -> None:
    client = await start(
        aiohttp_client,
        database_url=database_url,
        redis_url=store_url,
        sections={"limits": {"hop_deadline": 0.3}},
        submit_timeout=10.0,
    )
    phone = await confirm_screen(client)
    async with blocker(database_url)() as release:
        assert await phone.send("1") == STILL_WORKING
        await release()
    await settled(client, f"africastalking:{phone.session_id}", phone.text)
    done = await phone.send("1")  # "1. Continue": the late hop's own screen
    assert done.startswith("END Asante!")
    assert (await phone.dial()).startswith("CON Karibu e-Mrejesho")
