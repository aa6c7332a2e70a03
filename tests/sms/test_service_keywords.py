"""Pull SMS to a service's own keywords (``MREJESHO HALI <ref>``, ``KIKAO HALI``), declared in
its menu file, on the real app behind the shipped directory ``*152*00#``: replies reach the
Africa's Talking stand-in; a reload rebuilds the keywords; a broken service's words answer
"unavailable"; the meeting registration's receipt is sent once."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import ROOT, GatewayFactory, project_settings, shipped_settings
from tests.forwarding.conftest import StandIn
from tests.sms.conftest import FAST_SMS, AtApi, eventually, settle, sms_env
from tests.support.phone import Phone
from tests.test_egov_meeting import number_in, up_to_confirm
from tests.test_journeys import give_feedback
from ussd_gateway.http.keys import SUBMISSIONS

CITIZEN = "+255754000111"
TOKEN = "s3cret-admin-token"
MEETING_TITLE = {
    "sw": "Usajili wa Kikao Kazi cha Serikali Mtandao",
    "en": "e-Government Annual Meeting registration",
}


async def start(
    gateway: GatewayFactory,
    database_url: str,
    at_api: AtApi,
    stand_in: StandIn,
    **changes: Any,
) -> TestClient:
    env = sms_env(at_api, stand_in, BACKEND_MEETINGS_URL=stand_in.url, ADMIN_TOKEN=TOKEN)
    return await gateway(
        database_url=database_url,
        worker=True,
        sections={"sms": FAST_SMS},
        env=env,
        service_codes=shipped_settings().service_codes,
        **changes,
    )


class Sms:
    """A citizen texting the short code; each reply is read off the stand-in."""

    def __init__(self, client: TestClient, at_api: AtApi, number: str = CITIZEN) -> None:
        self.client, self.at_api, self.number = client, at_api, number
        self.count = 0

    async def send(self, text: str) -> str:
        self.count += 1
        form = {
            "from": self.number,
            "to": "15200",
            "text": text,
            "id": f"in-{self.number}-{self.count}",
        }
        response = await self.client.post("/sms/inbound", data=form)
        assert (response.status, await response.text()) == (200, "OK")
        await eventually(lambda: len(self.replies()) >= self.count)
        return self.replies()[-1]

    def replies(self) -> list[str]:
        return [m["message"] for m in self.at_api.sent() if m["to"] == self.number]


async def register(client: TestClient, typed: str, caller: str = "+255712000041") -> str:
    phone = Phone(client, number=caller)
    await up_to_confirm(phone, typed)
    return number_in(await phone.send("1"))


async def test_service_status_in_both_languages_stays_inside_the_service(
    gateway: GatewayFactory, database_url: str, at_api: AtApi, stand_in: StandIn
) -> None:
    client = await start(gateway, database_url, at_api, stand_in)
    feedback = await give_feedback(Phone(client, number=CITIZEN, code="*152*00*1#"))
    meeting = await register(client, "0712000042")
    sms = Sms(client, at_api, number="+255700000009")  # not the citizen: references are public

    sw = await sms.send(f"MREJESHO HALI {feedback.lower()}")
    assert re.fullmatch(rf"Namba ya kumbukumbu {feedback} \(\d\d/\d\d/\d{{4}}\): \w.*", sw), sw
    en = await sms.send(f"feedback status {feedback}")
    assert re.fullmatch(rf"Reference number {feedback} \(\d\d/\d\d/\d{{4}}\): \w.*", en), en
    # a meeting registration asked under MREJESHO: not found, nothing about it leaks
    assert await sms.send(f"MREJESHO HALI {meeting}") == (
        f"e-Mrejesho: hakuna namba ya kumbukumbu {meeting}."
    )
    assert (
        await sms.send(f"FEEDBACK STATUS {meeting}")
        == f"e-Mrejesho: no reference number {meeting}."
    )
    # the gateway-wide HALI searches every service
    assert (await sms.send(f"HALI {meeting}")).startswith(f"Namba ya kumbukumbu {meeting} (")


async def test_feedback_by_service_keyword_with_or_without_its_sub_keyword(
    gateway: GatewayFactory, database_url: str, at_api: AtApi, stand_in: StandIn
) -> None:
    client = await start(gateway, database_url, at_api, stand_in)
    sms = Sms(client, at_api)
    for text, reply in (
        ("MREJESHO TOA Maji hayatoki Kimara", "e-Mrejesho: ujumbe wako umepokelewa. Namba ya "),
        ("MREJESHO Barabara imeharibika", "e-Mrejesho: ujumbe wako umepokelewa. Namba ya "),
        ("FEEDBACK GIVE No light on our street", "e-Mrejesho: your message was received. "),
    ):
        answer = await sms.send(text)
        assert answer.startswith(reply), answer
        reference = re.search(r"(?:kumbukumbu|number): (\w{8})\. ", answer)
        assert reference is not None, answer
        view = await client.app[SUBMISSIONS].get(reference[1])
        assert view is not None and view.service == "mrejesho"
        # the receipt says how to track it: the service's own code, or HALI to the number texted
        track = f"*152*00*1# au tuma HALI {reference[1]} kwa 15200"
        assert answer.endswith(track) or answer.endswith(
            f"*152*00*1# or send STATUS {reference[1]} to 15200"
        ), answer
    assert await sms.send("MREJESHO TOA") == (
        "Andika ujumbe baada ya neno MREJESHO, mfano: MREJESHO Maji hayatoki."
    )
    await eventually(lambda: len(stand_in.received) >= 3)  # delivered to mrejesho's backend


async def test_meeting_status_is_the_senders_own_registration(
    gateway: GatewayFactory, database_url: str, at_api: AtApi, stand_in: StandIn
) -> None:
    client = await start(gateway, database_url, at_api, stand_in)
    sms = Sms(client, at_api)
    assert await sms.send("KIKAO HALI") == (
        f"{MEETING_TITLE['sw']}: namba hii ya simu haijasajiliwa. Piga *152*00*2# kujisajili."
    )
    assert await sms.send("meeting status") == (
        f"{MEETING_TITLE['en']}: this phone number is not registered. Dial *152*00*2# to register."
    )
    registration = await register(client, "0754 000 111")  # typed locally, texted as +255...
    assert await sms.send("KIKAO HALI") == (
        f"{MEETING_TITLE['sw']}: tayari umesajiliwa. Namba yako ya usajili ni {registration}."
    )
    assert await sms.send("MEETING") == (  # the keyword's default: status
        f"{MEETING_TITLE['en']}: you are already registered. "
        f"Your registration number is {registration}."
    )
    other = Sms(client, at_api, number="+255754000999")
    assert "haijasajiliwa" in await other.send("KIKAO HALI")


async def test_meeting_register_keyword_points_to_the_ussd_code(
    gateway: GatewayFactory, database_url: str, at_api: AtApi, stand_in: StandIn
) -> None:
    client = await start(gateway, database_url, at_api, stand_in)
    sms = Sms(client, at_api)
    assert await sms.send("KIKAO SAJILI Amina Juma, Wizara ya Afya, Afisa") == (
        f"{MEETING_TITLE['sw']}: kujisajili piga *152*00*2# na ufuate maelekezo."
    )
    assert await sms.send("MEETING REGISTER") == (
        f"{MEETING_TITLE['en']}: to register, dial *152*00*2# and follow the steps."
    )
    assert await client.app[SUBMISSIONS].count() == 0


async def test_unknown_keyword_help_lists_the_service_keywords(
    gateway: GatewayFactory, database_url: str, at_api: AtApi, stand_in: StandIn
) -> None:
    client = await start(gateway, database_url, at_api, stand_in)
    sms = Sms(client, at_api)
    assert await sms.send("Habari yenu") == (
        "Tuma kwa 15200: MREJESHO na ujumbe wako; KIKAO (Usajili wa Kikao Kazi cha Serikali "
        "Mtandao); HALI na namba ya kumbukumbu kujua hali yake; ACHA kusitisha taarifa; "
        "ANZA kuzirudisha."
    )
    assert await sms.send("HELP") == (
        "Send to 15200: FEEDBACK and your message; MEETING (e-Government Annual Meeting "
        "registration); STATUS and the reference number to see its status; STOP to end "
        "updates; START to resume."
    )


async def test_meeting_registration_by_ussd_sends_one_receipt(
    gateway: GatewayFactory, database_url: str, at_api: AtApi, stand_in: StandIn
) -> None:
    client = await start(gateway, database_url, at_api, stand_in)
    registration = await register(client, "0712000042")
    (receipt,) = await eventually(at_api.sent)
    assert receipt["to"] == "+255712000041"  # the caller's phone
    assert receipt["message"] == (
        "e-GA: Amina Juma, umesajiliwa kwa Kikao Kazi cha Serikali Mtandao. "
        f"Namba ya usajili: {registration}"
    )
    again = await register(client, "+255712000042", caller="+255712000043")  # a duplicate
    assert again == registration
    await settle()
    assert len(at_api.sent()) == 1


# ---- reloads -----------------------------------------------------------------------------


def project(tmp_path: Path) -> dict[str, Any]:
    menus = tmp_path / "menus"
    shutil.copytree(ROOT / "menus", menus, ignore=shutil.ignore_patterns("tests"))
    return {"menus_dir": menus, "catalogues": project_settings().catalogues}


async def reload(client: TestClient) -> dict[str, Any]:
    response = await client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    return await response.json()


async def test_reload_rebuilds_keywords_and_a_break_keeps_the_served_version(
    gateway: GatewayFactory, database_url: str, at_api: AtApi, stand_in: StandIn, tmp_path: Path
) -> None:
    changes = project(tmp_path)
    menu = changes["menus_dir"] / "egov_meeting.yaml"
    client = await start(gateway, database_url, at_api, stand_in, **changes)
    sms = Sms(client, at_api)
    source = menu.read_text()
    menu.write_text(source.replace("{sw: KIKAO, en: MEETING}", "{sw: MKUTANO, en: MEETING}"))
    assert (await reload(client))["ok"] is True
    assert "haijasajiliwa" in await sms.send("MKUTANO HALI")
    assert (await sms.send("KIKAO HALI")).startswith(
        "Tuma kwa 15200: MREJESHO na ujumbe wako; MKUTANO ("
    )

    menu.write_text(menu.read_text().replace("next: institution", "next: nowhere"))
    assert set((await reload(client))["kept"]) == {"egov_meeting"}  # its previous version serves
    assert "haijasajiliwa" in await sms.send("MKUTANO HALI")


async def test_a_broken_service_keyword_answers_unavailable_not_help(
    gateway: GatewayFactory, database_url: str, at_api: AtApi, stand_in: StandIn, tmp_path: Path
) -> None:
    changes = project(tmp_path)
    menu = changes["menus_dir"] / "egov_meeting.yaml"
    menu.write_text(menu.read_text().replace("next: institution", "next: nowhere"))
    client = await start(gateway, database_url, at_api, stand_in, **changes)
    sms = Sms(client, at_api)
    assert await sms.send("KIKAO HALI") == (
        "Samahani, huduma ya KIKAO haipatikani kwa muda. Jaribu tena baadaye."
    )
    assert await sms.send("MEETING REGISTER") == (
        "Sorry, the MEETING service is temporarily unavailable. Please try again later."
    )
    assert (await sms.send("MREJESHO Maji hayatoki")).startswith("e-Mrejesho: ujumbe wako")

    menu.write_text(menu.read_text().replace("next: nowhere", "next: institution"))  # fixed
    assert (await reload(client))["ok"] is True
    assert "haijasajiliwa" in await sms.send("KIKAO HALI")
