"""A hop slower than the deadline gets "still working" in time, and the session survives.

The slow part is real: a PostgreSQL table lock held by another connection makes the status
lookup wait, exactly as a busy database would.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from tests.guard.helpers import start
from tests.support.databases import TEST_DATABASE_URL_ENV, _postgresql_database
from tests.support.phone import Phone
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.domain.submissions import SubmissionDraft
from ussd_gateway.http.keys import SESSIONS, SUBMISSIONS

STILL_WORKING = "CON Bado tunashughulikia ombi lako.\n1. Endelea"


@pytest.fixture
async def postgresql_url() -> AsyncIterator[str]:
    server = os.environ.get(TEST_DATABASE_URL_ENV)
    if not server:
        pytest.skip(f"the slow-lookup test needs PostgreSQL ({TEST_DATABASE_URL_ENV})")
    async for url in _postgresql_database(server):
        yield url


async def settled(client, key: str, consumed: str) -> None:
    """Wait (bounded) until the late hop has saved the session (a replay since may have
    consumed the entry that answered "still working" too)."""
    store = client.app[SESSIONS]
    for _ in range(200):
        session = await store.get(key)
        if session is not None and (
            session.consumed == consumed or session.consumed.startswith(consumed + "*")
        ):
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the late hop never saved its session")


async def test_slow_lookup_gets_still_working_then_its_answer(
    aiohttp_client, postgresql_url, store_url
) -> None:
    client = await start(
        aiohttp_client,
        database_url=postgresql_url,
        redis_url=store_url,
        sections={"limits": {"hop_deadline": 0.3}},
        lookup_timeout=10.0,
    )
    reference = await client.app[SUBMISSIONS].submit(
        SubmissionDraft(
            idempotency_key="k1",
            service="mrejesho",
            backend="feedback",
            channel="ussd",
            language="sw",
            data={"body": "x"},
            phone="+255712345678",
        )
    )
    phone = Phone(client)
    await phone.dial()
    assert "namba ya kumbukumbu" in await phone.send("2")

    locker = create_engine(postgresql_url)
    try:
        async with locker.connect() as connection:
            transaction = await connection.begin()
            await connection.execute(text("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE"))
            # the lookup is blocked for as long as this transaction lives
            assert await phone.send(reference) == STILL_WORKING
            assert await phone.send("1") == STILL_WORKING  # still blocked: same answer
            await transaction.rollback()
    finally:
        await locker.dispose()

    await settled(client, f"africastalking:{phone.session_id}", f"2*{reference}")
    answer = await phone.send("1")
    assert answer.startswith(f"END Namba ya kumbukumbu {reference}") and "Imepokelewa" in answer

    # the session and the number work normally afterwards
    assert (await phone.dial()).startswith("CON Karibu e-Mrejesho")
    assert "namba ya kumbukumbu" in await phone.send("2")
    final = await phone.send(reference)
    assert final.startswith(f"END Namba ya kumbukumbu {reference}")


async def test_slow_submission_is_stored_once_and_its_reference_shown(
    aiohttp_client, postgresql_url, store_url
) -> None:
    client = await start(
        aiohttp_client,
        database_url=postgresql_url,
        redis_url=store_url,
        sections={"limits": {"hop_deadline": 0.3}},
    )
    phone = Phone(client)
    await phone.dial()
    assert "Andika ujumbe wako" in await phone.walk("1", "1", "2")
    await phone.send("Risiti haikuja")
    await phone.send("2")  # anonymous
    locker = create_engine(postgresql_url)
    try:
        async with locker.connect() as connection:
            transaction = await connection.begin()
            await connection.execute(text("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE"))
            assert await phone.send("1") == STILL_WORKING  # "send" waits on the database
            await transaction.rollback()
    finally:
        await locker.dispose()
    consumed = phone.text
    await settled(client, f"africastalking:{phone.session_id}", consumed)
    done = await phone.send("1")
    assert done.startswith("END Asante!") and "Namba ya kumbukumbu: " in done
    assert await client.app[SUBMISSIONS].count() == 1
    assert await phone.post() == done  # the aggregator retrying gets the same screen
    assert await client.app[SUBMISSIONS].count() == 1
