"""The e-Government Annual Meeting registration, through the shipped directory on the real app, on
SQLite and PostgreSQL: a number registers once; asking again shows its existing number."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from tests.conftest import GatewayFactory, shipped_settings
from tests.support.phone import Phone
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.http.keys import SUBMISSIONS

NUMBER = re.compile(r"(?:Namba ya usajili:|usajili ni) ([2-9A-Z]{8})")


def number_in(screen: str) -> str:
    match = NUMBER.search(screen)
    assert match, screen
    return match.group(1)


async def start(gateway: GatewayFactory, database_url: str) -> object:
    return await gateway(database_url=database_url, service_codes=shipped_settings().service_codes)


async def up_to_confirm(phone: Phone, typed_phone: str, name: str = "Amina Juma") -> str:
    await phone.dial("*152*00#")
    await phone.walk("2", "1", name, "Wizara ya Afya", "Afisa TEHAMA")
    return await phone.send(typed_phone)


async def rows(database_url: str, typed_phone: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = select(func.count()).where(
                Submission.service == "egov_meeting",
                Submission.idempotency_key.like(f"%{typed_phone}"),
            )
            return (await connection.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def test_a_registered_number_gets_its_existing_number_not_a_second_one(
    gateway: GatewayFactory, database_url: str
) -> None:
    client = await start(gateway, database_url)
    first = Phone(client, number="+255712000041")
    assert "+255712000042" in await up_to_confirm(first, "0712000042")
    done = await first.send("1")
    assert done.startswith("END Umesajiliwa kwa Kikao Kazi cha Serikali Mtandao.")
    registration = number_in(done)

    # another caller types the same number: refused politely, with the existing number
    again = Phone(client, number="+255712000043")
    await up_to_confirm(again, "+255 712 000 042", name="Amina J.")
    refused = await again.send("1")
    assert refused.startswith("END Namba ya simu +255712000042 tayari imesajiliwa.")
    assert number_in(refused) == registration
    assert "Hakuna haja ya kujisajili tena." in refused
    assert await rows(database_url, "+255712000042") == 1
    view = await client.app[SUBMISSIONS].get(registration)
    assert view is not None and view.service == "egov_meeting"


async def test_two_registrations_of_one_number_at_the_same_moment_make_one(
    gateway: GatewayFactory, database_url: str
) -> None:
    client = await start(gateway, database_url)
    phones = [Phone(client, number=f"+25571200006{n}") for n in range(4)]
    for phone in phones:
        await up_to_confirm(phone, "0712000070")
    screens = await asyncio.gather(*(phone.send("1") for phone in phones))
    assert all(screen.startswith("END ") for screen in screens), screens
    assert len({number_in(screen) for screen in screens}) == 1, screens
    assert await rows(database_url, "+255712000070") == 1
