"""A citizen's first minutes on *152*00#, through the real webhook and the shipped menus: the
directory speaks their language, a redial names what it would resume, and a number registered
already is told so before typing anything."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import GatewayFactory, shipped_settings
from tests.support.phone import Phone
from tests.support.serve import BIN
from ussd_gateway.application.menus.loading import load_definitions
from ussd_gateway.domain.gsm import fits_ussd
from ussd_gateway.engine.directory import inspect_directory
from ussd_gateway.engine.loader import inspect_menu

ROOT = Path(__file__).resolve().parents[1]


async def start(gateway: GatewayFactory, **changes: object) -> Phone:
    client = await gateway(service_codes=shipped_settings().service_codes, **changes)
    return Phone(client, number="+255712000077")


async def test_the_directory_switches_language_and_the_number_keeps_it(
    gateway: GatewayFactory,
) -> None:
    phone = await start(gateway)
    home = await phone.dial("*152*00#")
    assert home.endswith("\n4. Lugha / Language"), home
    assert (await phone.send("4")).startswith("CON Chagua lugha\n1. Kiswahili\n2. English")
    english = await phone.send("2")
    assert english.startswith("CON Government services\n1. e-Mrejesho (complaints"), english
    assert "4. Language / Lugha" in english
    assert (await phone.send("1")).startswith("CON Welcome to e-Mrejesho")
    # remembered for the number: the next call starts in English
    phone.session_id = "ATUid_second_call"
    assert (await phone.dial("*152*00#")).startswith("CON Government services")
    assert await phone.walk("4", "1") == (
        "CON Huduma za Serikali\n1. e-Mrejesho (malalamiko na maoni)"
        "\n2. Kikao Kazi cha Serikali Mtandao\n3. Malipo ya Serikali\n4. Lugha / Language"
    )


async def test_a_wrong_entry_on_the_directory_counts_the_language_line(
    gateway: GatewayFactory,
) -> None:
    phone = await start(gateway)
    await phone.dial("*152*00#")
    assert (await phone.send("7")).startswith("CON Chaguo si sahihi. Chagua 1-4.")


async def test_the_resume_offer_names_the_service_it_would_resume(
    gateway: GatewayFactory,
) -> None:
    phone = await start(gateway)
    await phone.dial("*152*00#")
    await phone.walk("2", "1", "Amina Juma")  # the meeting: name typed, the institution asked
    offer = await phone.dial("*152*00#")  # the call dropped; dialled again
    assert offer == (
        "CON Hukumaliza Usajili wa Kikao Kazi cha Serikali Mtandao."
        "\n1. Endelea ulipoishia\n2. Anza upya"
    )
    wrong = await phone.send("7")
    assert wrong.startswith(
        "CON Chaguo si sahihi.\nHukumaliza Usajili wa Kikao Kazi cha Serikali Mtandao."
    )
    assert (await phone.send("1")).startswith("CON Andika taasisi yako")


async def test_the_resume_offer_falls_back_to_the_plain_text_for_a_title_too_long(
    gateway: GatewayFactory,
) -> None:
    long = "Usajili " * 30
    phone = await start(
        gateway,
        texts={"resume_named": {"sw": f"Hukumaliza {long}{{service}}.\n1. Endelea\n2. Anza upya"}},
    )
    await phone.dial("*152*00#")
    await phone.walk("1", "1", "1")
    assert (await phone.dial("*152*00#")).startswith("CON Hukumaliza ulichokuwa ukifanya.")


def test_the_resume_offer_fits_one_screen_with_every_shipped_title() -> None:
    settings = shipped_settings()
    definitions = load_definitions(settings)
    for definition in definitions.values():
        for language in definition.languages:
            title = definition.title.get(language, "")
            named = settings.text("resume_named", language).replace("{service}", title)
            hint = definition.message("invalid_choice", language)
            assert fits_ussd(f"{hint}\n{named}"), (definition.service, language)


async def test_a_registered_number_is_told_at_entry_before_typing(
    gateway: GatewayFactory,
) -> None:
    phone = await start(gateway)
    await phone.dial("*152*00#")
    await phone.walk("2", "1", "Amina Juma", "Wizara ya Afya", "Afisa TEHAMA")
    await phone.send("0712000077")  # their own number
    done = await phone.send("1")
    assert done.startswith("END Umesajiliwa"), done
    registration = done.split("Namba ya usajili: ")[1].split("\n")[0]

    phone.session_id = "ATUid_again"
    await phone.dial("*152*00#")
    await phone.send("2")
    again = await phone.send("1")  # "Jisajili": no name asked
    assert again == (
        "END Namba ya simu +255712000077 tayari imesajiliwa.\n"
        f"Namba yako ya usajili ni {registration}. Hakuna haja ya kujisajili tena."
    )
    # a number not registered goes on to type its name
    other = Phone(phone.client, number="+255712000078")
    await other.dial("*152*00#")
    await other.send("2")
    assert (await other.send("1")).startswith("CON Andika jina lako kamili")


def test_a_lookup_once_must_name_a_submit_screen_with_once_per(tmp_path: Path) -> None:
    text = (ROOT / "menus" / "egov_meeting.yaml").read_text()
    path = tmp_path / "egov_meeting.yaml"
    path.write_text(text.replace("    once: register", "    once: confirm", 1))
    _, problems = inspect_menu(path)
    assert any(
        "'once' names 'confirm', which is not a submit screen with once_per" in p.message
        for p in problems
    ), problems


def test_validate_warns_when_a_directory_label_differs_from_the_title(tmp_path: Path) -> None:
    settings = shipped_settings()
    definitions = load_definitions(settings)
    menus = tmp_path / "menus"
    menus.mkdir()
    for name in ("mrejesho.yaml", "egov_meeting.yaml", "bills.yaml"):
        (menus / name).write_text((ROOT / "menus" / name).read_text())
    directory = menus / "directory.yaml"
    text = (ROOT / "menus" / "directory.yaml").read_text()
    shipped = '{sw: "e-Mrejesho (malalamiko na maoni)", en:'
    assert shipped in text
    directory.write_text(text.replace(shipped, '{sw: "Maoni ya wananchi", en:'))
    by_file = {
        str((menus / Path(d.source).name).resolve()): d
        for d in definitions.values()
        if Path(d.source).name in ("mrejesho.yaml", "egov_meeting.yaml", "bills.yaml")
    }
    _, problems = inspect_directory(directory, by_file, {}, settings.navigation)
    assert [(p.severity, p.message) for p in problems] == [
        (
            "warning",
            "sw: label of mrejesho.yaml differs from the service's title 'e-Mrejesho' "
            "(make them agree)",
        )
    ]


def test_graph_draws_the_directory_language_screen() -> None:
    result = subprocess.run(
        [str(BIN / "ussd-gateway"), "graph", "menus/directory.yaml", "--format", "mermaid"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert '  s_home -->|"4. Lugha / Language"| s_language' in lines
    assert '  s_language -->|"2. English"| s_home' in lines
