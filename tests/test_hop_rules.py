"""How a request relates to the session it continues, through the real webhook, store and
database, with the shipped menus: each test replays a reported request exactly.

- a message containing ``*`` with no session to say where it ended is never stored cut;
- a session answers only the number that opened it;
- a late copy of an earlier cumulative hop changes nothing;
- a hub that repeats one request id on every hop is not stuck on its first screen.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from tests.conftest import GatewayFactory
from tests.providers.drivers import post_json
from tests.support.phone import Phone
from tests.test_journeys import MESSAGE, reference_in
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.http.keys import SESSIONS, SUBMISSIONS

DIRECTORY = {"*152*00#": "serikali"}
"""The shipped code as shipped: the government directory, e-Mrejesho its first service."""
WAITING = "Nimesubiri kitambulisho *miezi sita* bila majibu"
TYPE_AGAIN = "CON Tafadhali andika tena.\nTANESCO - Umeme\nAndika ujumbe wako"
UNAVAILABLE = (
    "END Samahani, huduma haipatikani kwa sasa. Tafadhali jaribu tena baadaye.\n"
    "Sorry, the service is unavailable right now. Please try again later."
)


async def stored(database_url: str) -> list[Submission]:
    """Every submission row, read through a connection of its own."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(select(Submission))).all())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


# ---- a message containing '*' and no session (issue 16, defect 2) ---------------------------


async def test_a_message_with_stars_and_entries_after_it_is_typed_again_not_stored_cut(
    gateway: GatewayFactory, sqlite_url: str
) -> None:
    """The gateway lost the session (a restart of the embedded store, an expired Redis
    session): the aggregator's whole text cannot say where the message ended (it may be
    "…bila majibu", "…bila majibu*2" or "…bila majibu*2*1"), so the citizen types it again."""
    client = await gateway(service_codes=DIRECTORY)
    phone = Phone(client)
    phone.session_id = "ATUid_new_to_this_gateway"
    text = f"1*1*1*1*{WAITING}*2*1"
    assert (await phone.post(text)).startswith(TYPE_AGAIN)
    assert await client.app[SUBMISSIONS].count() == 0

    identify = await phone.post(f"{text}*{WAITING}")
    assert "Ungependa kujitambulisha?" in identify
    assert (await phone.post(f"{text}*{WAITING}*2")).startswith("CON Tuma kwa TANESCO")
    reference = reference_in(await phone.post(f"{text}*{WAITING}*2*1"))
    [row] = await stored(sqlite_url)
    assert row.reference == reference and row.data["body"] == WAITING


async def test_a_message_with_stars_read_the_only_valid_way_is_stored_whole(
    gateway: GatewayFactory, sqlite_url: str
) -> None:
    """Only the whole message leaves a path the citizen could have typed: "miezi sita" is no
    answer to "Ungependa kujitambulisha?"."""
    client = await gateway(service_codes=DIRECTORY)
    phone = Phone(client)
    phone.session_id = "ATUid_after_a_restart"
    assert "Ungependa kujitambulisha?" in await phone.post(f"1*1*1*1*{WAITING}")
    assert f'"{WAITING}"\n(bila jina)' in await phone.post(f"1*1*1*1*{WAITING}*2")
    reference_in(await phone.post(f"1*1*1*1*{WAITING}*2*1"))
    [row] = await stored(sqlite_url)
    assert row.data["body"] == WAITING and row.anonymous


async def test_an_extended_dial_with_a_starred_message_is_never_stored_cut(
    gateway: GatewayFactory, sqlite_url: str
) -> None:
    client = await gateway(service_codes=DIRECTORY)
    phone = Phone(client, code="*152*00*1*1*1#")
    phone.session_id = "ATUid_extended"
    assert (await phone.post(f"1*{WAITING}*2*1")).startswith(TYPE_AGAIN)
    assert await stored(sqlite_url) == []


# ---- a session belongs to the number that opened it (issue 16, defect 3) --------------------


async def test_another_number_on_a_taken_session_id_sees_nothing_and_harms_nothing(
    client: TestClient, sqlite_url: str
) -> None:
    owner = Phone(client)
    await owner.dial()
    confirm = await owner.walk("1", "1", "2", MESSAGE, "1", "Amina Juma")
    assert confirm.startswith('CON Tuma kwa TRA - Mapato:\n"Nimelipa kodi')
    before = await client.app[SESSIONS].get(f"africastalking:{owner.session_id}")

    other = Phone(client, number="+255754000111", session_id=owner.session_id)
    for text in ("", owner.text, f"{owner.text}*1", "1"):
        answer = await other.post(text)
        assert answer == UNAVAILABLE, text  # not the owner's screen, not their message
    assert await client.app[SUBMISSIONS].count() == 0
    assert await client.app[SESSIONS].get(f"africastalking:{owner.session_id}") == before

    reference = reference_in(await owner.send("1"))
    [row] = await stored(sqlite_url)
    assert row.reference == reference and row.phone == owner.number
    assert row.data["name"] == "Amina Juma"
    assert await other.post(owner.text) == UNAVAILABLE  # the owner's END is theirs only


async def test_the_owner_under_a_local_spelling_of_the_number_is_the_owner(
    client: TestClient,
) -> None:
    """Aggregators keep a local ``0…`` number as sent; it is the same line as ``+255…``."""
    owner = Phone(client)
    await owner.dial()
    await owner.send("1")
    local = Phone(client, number="0712345678", session_id=owner.session_id, entries=["1", "1"])
    assert "Chagua taasisi" in await local.post()


# ---- a late copy of an earlier hop (issue 16, defect 6) -------------------------------------


async def test_a_late_copy_of_an_earlier_hop_changes_nothing(
    client: TestClient, sqlite_url: str
) -> None:
    phone = Phone(client)
    await phone.dial()
    identify = await phone.walk("1", "1", "2", MESSAGE)
    assert "Ungependa kujitambulisha?" in identify
    assert await phone.post("1*1") == identify  # the aggregator's late copy of the 2nd hop
    assert await phone.post("1") == identify
    confirm = await phone.send("2")  # anonymous, not a name
    assert (
        confirm.startswith('CON Tuma kwa TRA - Mapato:\n"Nimelipa kodi')
        and "(bila jina)" in confirm
    )
    reference_in(await phone.send("1"))
    [row] = await stored(sqlite_url)
    assert row.anonymous and row.phone is None and row.data["body"] == MESSAGE


# ---- a hub that repeats its request id (issue 17, item 1) -----------------------------------


def beem(command: str, response: str, request_id: Any = 5) -> dict[str, Any]:
    return {
        "command": command,
        "msisdn": "255716000001",
        "operator": "vodacom",
        "session_id": "r1",
        "payload": {"request_id": request_id, "response": response},
    }


async def test_beem_with_a_constant_request_id_moves_on(
    gateway: GatewayFactory, sqlite_url: str
) -> None:
    client = await gateway(service_codes=DIRECTORY)
    directory = await post_json(client, "/ussd/beem", beem("initiate", "0"))
    assert directory["payload"]["request"].startswith("Huduma za Serikali")
    home = await post_json(client, "/ussd/beem", beem("continue", "1"))
    assert home["payload"]["request"].startswith("Karibu e-Mrejesho")
    assert await post_json(client, "/ussd/beem", beem("continue", "1")) != home  # "1" again
    for entry in ("1", "2", MESSAGE, "2"):
        screen = await post_json(client, "/ussd/beem", beem("continue", entry))
    assert screen["payload"]["request"].startswith("Tuma kwa TRA - Mapato")
    final = await post_json(client, "/ussd/beem", beem("continue", "1"))
    assert final["command"] == "terminate"
    reference = reference_in(final["payload"]["request"])
    [row] = await stored(sqlite_url)
    assert row.reference == reference and row.data["body"] == MESSAGE
