"""The SMS nudge after a dropped call, through the real webhook, the shipped menus (``nudge:
{after: 180}``), the real session store and the SMS outbox; the clock is moved, not slept."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from tests.conftest import GatewayFactory, shipped_settings
from tests.support.clock import FakeClock
from tests.support.phone import Phone
from ussd_gateway.engine.loader import inspect_menu
from ussd_gateway.http.nudges import NUDGER
from ussd_gateway.http.sms.keys import SMS_OUTBOX

ROOT = Path(__file__).resolve().parents[1]
MESSAGE = "Umeme umekatika siku tatu sasa"


async def start(gateway: GatewayFactory, clock: FakeClock) -> TestClient:
    return await gateway(service_codes=shipped_settings().service_codes, clock=clock)


async def sweep(client: TestClient, clock: FakeClock, seconds: float) -> int:
    clock.advance(seconds)
    return await client.app[NUDGER].sweep()


async def nudge_of(client: TestClient, phone: Phone) -> str | None:
    found = await client.app[SMS_OUTBOX].find(f"nudge:africastalking:{phone.session_id}")
    return None if found is None else found.body


async def test_a_dropped_journey_gets_one_sms_saying_how_to_continue(
    gateway: GatewayFactory,
) -> None:
    clock = FakeClock()
    client = await start(gateway, clock)
    phone = Phone(client, number="+255712000301")
    await phone.dial("*152*00#")
    await phone.walk("1", "1", "1")  # e-Mrejesho, give feedback, complaint: two answers
    # the call drops silently (no end notice); not yet: the citizen may still be on the line
    assert await sweep(client, clock, 120) == 0
    assert await sweep(client, clock, 61) == 1
    row = await client.app[SMS_OUTBOX].find(f"nudge:africastalking:{phone.session_id}")
    assert row is not None and row.phone == "+255712000301" and row.status == "pending"
    assert row.body == "Simu ilikatika kabla hujamaliza. Piga *152*00# kuendelea ulipoishia."
    assert await sweep(client, clock, 30) == 0  # once per journey
    # and the journey is still offered back within the window
    assert (await phone.dial("*152*00#")).startswith("CON Hukumaliza e-Mrejesho.")


async def test_no_nudge_for_a_journey_resumed_finished_or_barely_begun(
    gateway: GatewayFactory,
) -> None:
    clock = FakeClock()
    client = await start(gateway, clock)
    resumed = Phone(client, number="+255712000302")
    await resumed.dial("*152*00#")
    await resumed.walk("1", "1", "1")
    first_call = resumed.session_id
    resumed.session_id = "ATUid_redial"
    await resumed.dial("*152*00#")
    assert (await resumed.send("1")).startswith("CON Chagua taasisi")  # resumed, then finished
    await resumed.walk("2", MESSAGE, "1", "Amina Juma")
    assert (await resumed.send("1")).startswith("END ")

    barely = Phone(client, number="+255712000303")
    await barely.dial("*152*00#")
    await barely.send("1")  # one answer: nothing typed to lose

    assert await sweep(client, clock, 200) == 0
    resumed.session_id = first_call
    assert await nudge_of(client, resumed) is None
    assert await nudge_of(client, barely) is None


async def test_no_nudge_to_a_number_that_opted_out_or_chose_anonymity(
    gateway: GatewayFactory,
) -> None:
    clock = FakeClock()
    client = await start(gateway, clock)
    stopped = Phone(client, number="+255712000304")
    await client.app[SMS_OUTBOX].opt_out("+255712000304")  # sent ACHA
    await stopped.dial("*152*00#")
    await stopped.walk("1", "1", "1")

    anonymous = Phone(client, number="+255712000305")
    await anonymous.dial("*152*00#")
    await anonymous.walk("1", "1", "1", "2", MESSAGE)
    assert "(bila jina)" in await anonymous.send("2")  # anonymous chosen, then the call drops

    named = Phone(client, number="+255712000306")  # the same journey, name not yet asked
    await named.dial("*152*00#")
    await named.walk("1", "1", "1", "2", MESSAGE)

    assert await sweep(client, clock, 181) == 1
    assert await nudge_of(client, stopped) is None
    assert await nudge_of(client, anonymous) is None
    text = await nudge_of(client, named)
    assert text is not None and MESSAGE not in text and "TRA" not in text


async def test_no_nudge_after_the_resume_window(gateway: GatewayFactory) -> None:
    clock = FakeClock()
    client = await start(gateway, clock)
    phone = Phone(client, number="+255712000307")
    await phone.dial("*152*00#")
    await phone.walk("2", "1", "Amina Juma")  # the meeting registration
    assert await sweep(client, clock, 301) == 0  # the sweep came too late: it can't be resumed
    assert await nudge_of(client, phone) is None


async def test_a_service_dialled_by_its_own_code_is_nudged_with_that_code(
    gateway: GatewayFactory,
) -> None:
    clock = FakeClock()
    client = await gateway(clock=clock, service_codes={"*152*05#": "mrejesho"})
    phone = Phone(client, number="+255712000308")
    await phone.dial("*152*05#")
    await phone.walk("1", "1")
    assert await sweep(client, clock, 181) == 1
    assert (await nudge_of(client, phone) or "").endswith("Piga *152*05# kuendelea ulipoishia.")


def test_nudge_is_off_unless_the_menu_file_asks_and_is_checked(tmp_path: Path) -> None:
    text = (ROOT / "menus" / "egov_meeting.yaml").read_text()
    assert inspect_menu(ROOT / "menus" / "egov_meeting.yaml")[0].nudge_after == 180.0
    path = tmp_path / "egov_meeting.yaml"
    path.write_text("\n".join(x for x in text.splitlines() if not x.startswith("nudge:")))
    definition, problems = inspect_menu(path)
    assert definition is not None and definition.nudge_after == 0.0 and not problems
    path.write_text(text.replace("nudge: {after: 180}", "nudge: {after: soon}"))
    _, problems = inspect_menu(path)
    assert [p.message for p in problems] == ["'nudge' must be {after: <seconds>}, more than 0"]
