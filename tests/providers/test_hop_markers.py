"""Hubs that number their requests (Beem ``request_id``, Hubtel ``Sequence``) each their own
way: echoing our reply's id, counting their own, or sending one id for the whole session.

A request is a retry only when it repeats the last hop's id *and* its entry, so none of them is
held on one screen; a hub seen repeating its id with a new entry has ids that say nothing, and
the same entry twice in a row is then two entries (``application/hops/policy.is_repeat``).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.providers.drivers import DRIVERS
from tests.providers.fuzzing import BOTH_STORES
from tests.test_journeys import MESSAGE, reference_in
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.http.keys import SUBMISSIONS

HOME = "Karibu e-Mrejesho\n1. Toa mrejesho\n2. Fuatilia mrejesho\n3. Lugha / Language"
KIND = "Aina ya mrejesho\n1. Malalamiko"
INSTITUTIONS = "Chagua taasisi"
HUBS = [("beem", "echo"), ("beem", "count"), ("beem", "constant")]
HUBS += [("hubtel", "count"), ("hubtel", "constant")]
MOVING = [hub for hub in HUBS if hub[1] != "constant"]


@BOTH_STORES
@pytest.mark.parametrize(("name", "ids"), HUBS)
async def test_a_whole_journey_whatever_the_hub_does_with_its_ids(
    client, sqlite_url: str, name: str, ids: str
) -> None:
    phone = DRIVERS[name](client, ids=ids)  # type: ignore[call-arg]
    assert (await phone.dial()).text == HOME
    assert KIND in (await phone.send("1")).text
    assert INSTITUTIONS in (await phone.send("1")).text  # "1" on two screens in a row
    assert (await phone.send("2")).text.startswith("TRA - Mapato\nAndika ujumbe wako")
    assert "Ungependa kujitambulisha?" in (await phone.send(MESSAGE)).text
    assert (await phone.send("1")).text.startswith("Andika jina lako")
    assert (await phone.send("Amina Juma")).text.startswith("Tuma kwa TRA - Mapato")
    final = await phone.send("1")
    assert final.end
    reference = reference_in(final.text)
    assert await client.app[SUBMISSIONS].count() == 1
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            query = select(Submission).where(Submission.reference == reference)
            row = (await connection.execute(query)).one()
    finally:
        await engine.dispose()
    assert row.data["body"] == MESSAGE and row.data["name"] == "Amina Juma"
    assert await phone.retry() == final  # the last hop again: its screen, no second submission
    assert await client.app[SUBMISSIONS].count() == 1


@pytest.mark.parametrize(("name", "ids"), MOVING)
async def test_retries_of_hubs_whose_ids_move_on_change_nothing(
    client, name: str, ids: str
) -> None:
    phone = DRIVERS[name](client, ids=ids)  # type: ignore[call-arg]
    home = await phone.dial()
    assert await phone.retry() == home
    kind = await phone.send("1")
    assert await phone.retry() == kind  # the same id and the same entry: a retry
    institutions = await phone.send("1")
    assert INSTITUTIONS in institutions.text
    assert await phone.retry() == institutions


@pytest.mark.parametrize("name", ["beem", "hubtel"])
async def test_a_constant_id_hub_takes_a_repeated_entry_as_a_new_one(client, name: str) -> None:
    """The documented price of never holding a citizen: such a hub's retry moves one screen on,
    which the back key undoes; a repeated start is still known."""
    phone = DRIVERS[name](client, ids="constant")  # type: ignore[call-arg]
    home = await phone.dial()
    assert await phone.retry() == home  # the start again
    kind = await phone.send("1")
    assert KIND in kind.text
    assert INSTITUTIONS in (await phone.retry()).text
    assert (await phone.send("0")) == kind
