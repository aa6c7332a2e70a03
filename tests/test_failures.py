"""When parts fail: the citizen gets a polite screen, never a stack trace, and nothing is lost."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.phone import Phone
from tests.test_journeys import MESSAGE, reference_in
from ussd_gateway.adapters.db.engine import create_sessionmaker
from ussd_gateway.http.keys import GATEWAY, SUBMISSIONS


async def test_dead_redis_ends_the_session_politely(gateway, isolated_redis_server) -> None:
    client = await gateway(redis_url=isolated_redis_server.url)
    phone = Phone(client)
    await phone.dial()
    await phone.send("1")
    isolated_redis_server.stop()
    reply = await phone.send("1")
    assert reply.startswith("END Samahani, huduma haipatikani kwa sasa.")
    assert "Traceback" not in reply
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["checks"]["sessions"]["ok"] is False

    isolated_redis_server.start()
    assert (await phone.dial()).startswith("CON Karibu e-Mrejesho")
    assert (await client.get("/readyz")).status == 200


async def test_database_down_at_submit_keeps_the_journey(client, phone: Phone) -> None:
    """The confirm screen comes back with a hint; confirming again once the DB is back works."""
    submissions = client.app[SUBMISSIONS]
    working = submissions._sessionmaker
    dead = create_async_engine(
        "postgresql+asyncpg://nobody@127.0.0.1:1/none", connect_args={"timeout": 0.5}
    )
    await phone.dial()
    await phone.walk("1", "1", "2", MESSAGE, "2")
    confirm = phone.screens[-1]
    submissions._sessionmaker = create_sessionmaker(dead)
    try:
        reply = await phone.send("1")
    finally:
        submissions._sessionmaker = working
        await dead.dispose()
    assert reply == "CON Huduma haipatikani sasa, jaribu tena.\n" + confirm[4:]
    reference = reference_in(await phone.send("1"))
    view = await submissions.get(reference)
    assert view is not None
    assert await submissions.count() == 1


async def test_lookup_that_cannot_answer_shows_a_fallback(client, phone: Phone) -> None:
    service = client.app[GATEWAY].service
    submissions = client.app[SUBMISSIONS]
    working = submissions._sessionmaker
    dead = create_async_engine(
        "postgresql+asyncpg://nobody@127.0.0.1:1/none", connect_args={"timeout": 0.5}
    )
    assert service.engine.lookup_timeout > 0
    await phone.dial()
    await phone.send("2")
    submissions._sessionmaker = create_sessionmaker(dead)
    try:
        reply = await phone.send("ABCDEFGH"[:7] + _check("ABCDEFG"))
    finally:
        submissions._sessionmaker = working
        await dead.dispose()
    assert reply.startswith("END Samahani, hatuwezi kupata hali ya mrejesho sasa.")


async def test_unknown_reference_offers_another_try(phone: Phone) -> None:
    await phone.dial()
    await phone.send("2")
    missing = await phone.send("ABCDEFG" + _check("ABCDEFG"))
    assert missing.startswith("CON Hakuna mrejesho wenye namba ya kumbukumbu ABCDEFG")
    assert "1. Jaribu tena" in missing
    assert "namba ya kumbukumbu" in await phone.send("1")


def _check(body: str) -> str:
    from ussd_gateway.domain.references import check_symbol

    return check_symbol(body)
