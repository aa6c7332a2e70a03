"""The same e-Mrejesho journey through every aggregator's format ends with the same reference."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.providers.drivers import DRIVERS, Driver, Generic
from tests.providers.fuzzing import BOTH_STORES
from tests.test_journeys import MESSAGE, reference_in
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.http.keys import SUBMISSIONS

ADAPTERS = [*DRIVERS, "generic-latest"]


def driver_for(name: str, client) -> Driver:
    if name == "generic-latest":
        return Generic(client, mode="latest")
    return DRIVERS[name](client)


@BOTH_STORES
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_feedback_journey_through_every_adapter(
    client, sqlite_url: str, adapter: str
) -> None:
    phone = driver_for(adapter, client)
    home = await phone.dial()
    assert (
        home.text == "Karibu e-Mrejesho\n1. Toa mrejesho\n2. Fuatilia mrejesho\n3. Lugha / Language"
    )
    assert not home.end
    assert "Aina ya mrejesho\n1. Lalamiko" in (await phone.send("1")).text
    assert "2. TRA - Mapato" in (await phone.send("1")).text
    assert (await phone.send("2")).text.startswith("TRA - Mapato\nAndika ujumbe wako")
    assert "Ungependa kujitambulisha?" in (await phone.send(MESSAGE)).text
    assert (await phone.send("1")).text.startswith("Andika jina lako")
    confirm = await phone.send("Amina Juma")
    assert confirm.text.startswith('Tuma kwa TRA - Mapato:\n"Nimelipa kodi *mara mbili*')
    final = await phone.send("1")
    assert final.end and final.text.startswith("Asante! Mrejesho umepokelewa.")
    reference = reference_in(final.text)
    assert all(not screen.end for screen in phone.screens[:-1])

    view = await client.app[SUBMISSIONS].get(reference)
    assert view is not None
    assert await client.app[SUBMISSIONS].count(phone="+255712345678") == 1
    assert await client.app[SUBMISSIONS].count() == 1

    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    select(Submission).where(Submission.reference == reference)
                )
            ).one()
    finally:
        await engine.dispose()
    assert row.data["body"] == MESSAGE  # the '*' inside the message arrived whole
    assert row.data["name"] == "Amina Juma" and row.data["institution"] == "tra"
