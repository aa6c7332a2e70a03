"""A directory of services on one code, through the real webhook, store and database: pages,
entering and leaving services, extended and direct codes, isolation, broken files, reloads."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import ROOT, GatewayFactory, shipped_settings
from tests.support.phone import Phone
from tests.support.serve import BIN, Server
from ussd_gateway.application.menus.loading import load_definitions, load_services
from ussd_gateway.application.menus.reloading import read_menus
from ussd_gateway.config.settings import NavigationKeys
from ussd_gateway.engine.definition import DefinitionError
from ussd_gateway.http.keys import SESSIONS

TOKEN = "directory-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CODES = {"*152*00#": "kurasa"}

SERVICE = """\
service: {name}
title: {{sw: "{label}", en: "{label}"}}
owner: {{institution: "Taasisi {name}", contact: "{name}@example.go.tz"}}
backend: feedback
languages: [sw, en]
start: home
{extra}
screens:
  home:
    type: menu
    text: {{sw: "Karibu {name}", en: "Welcome to {name}"}}
    options:
      - {{label: {{sw: "Endelea", en: "Go on"}}, next: next}}
  next:
    type: end
    text: {{sw: "Mwisho wa {name}", en: "End of {name}"}}
"""

ALPHA = """\
service: alpha
owner: {institution: "Taasisi A", contact: "a@example.go.tz"}
backend: feedback
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Karibu alpha", en: "Welcome to alpha"}
    options:
      - {label: {sw: "Weka siri", en: "Set secret"}, set: {secret: SIRI-YA-ALPHA}, next: shown}
  shown:
    type: menu
    text: {sw: "Siri: {{ secret }}", en: "Secret: {{ secret }}"}
    options:
      - {label: {sw: "Mwanzo", en: "Start"}, next: home}
"""

BETA = """\
service: beta
owner: {institution: "Taasisi B", contact: "b@example.go.tz"}
backend: feedback
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Karibu beta", en: "Welcome to beta"}
    options:
      - {label: {sw: "Weka yangu", en: "Set mine"}, set: {secret: ya-beta}, next: peek}
      - {label: {sw: "Tazama", en: "Look"}, next: peek}
  peek:
    type: menu
    text:
      sw: "{% if secret %}Siri: {{ secret }}{% else %}Hakuna siri{% endif %} ({{ language }})"
      en: "{% if secret %}Secret: {{ secret }}{% else %}No secret{% endif %} ({{ language }})"
    options:
      - {label: {sw: "Mwanzo", en: "Start"}, next: home}
"""

LONG = "Huduma ya serikali yenye jina refu sana"


class Menus:
    """A menus directory of its own: services, a directory over them, a catalogue."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "menus"
        self.dir.mkdir()
        self.institutions = root / "institutions.yaml"
        shutil.copy(ROOT / "config" / "institutions.yaml", self.institutions)

    def service(self, name: str, label: str = "", extra: str = "") -> Path:
        path = self.dir / f"{name}.yaml"
        path.write_text(SERVICE.format(name=name, label=label or name, extra=extra))
        return path

    def write(self, name: str, text: str) -> Path:
        path = self.dir / f"{name}.yaml"
        path.write_text(text)
        return path

    def directory(self, entries: list[str], name: str = "kurasa") -> Path:
        lines = [
            f"directory: {name}",
            "languages: [sw, en]",
            'title: {sw: "Huduma", en: "Services"}',
            "services:",
            *(f"  - {entry}" for entry in entries),
        ]
        return self.write("directory", "\n".join(lines) + "\n")

    def settings(self, **changes: Any) -> dict[str, Any]:
        changes.setdefault("env", {"ADMIN_TOKEN": TOKEN})
        changes.setdefault("service_codes", CODES)
        return {
            "menus_dir": self.dir,
            "catalogues": {"institutions": self.institutions},
            **changes,
        }


@pytest.fixture
def menus(tmp_path: Path) -> Menus:
    return Menus(tmp_path)


def paged(menus: Menus) -> None:
    """Nine services with long labels (three to a page), the fourth switched off, in an order
    unlike the files'."""
    entries = []
    for n in range(1, 10):
        menus.service(f"s{n}", f"{LONG} {n}")
        enabled = "false" if n == 4 else "true"
        entries.append(f"{{file: s{n}.yaml, order: {10 - n}, enabled: {enabled}}}")
    menus.directory(entries)


def numbered(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if line[:1].isdigit() and ". " in line]


async def test_pages_number_services_across_pages_and_000_returns(
    gateway: GatewayFactory, menus: Menus
) -> None:
    paged(menus)
    phone = Phone(await gateway(**menus.settings()))
    first = await phone.dial()
    assert first.startswith("CON Huduma\n")
    assert numbered(first)[0] == f"1. {LONG} 9"  # order 1 is s9
    assert first.endswith("98.Zaidi")
    seen = numbered(first)
    screen = first
    while "98.Zaidi" in screen:
        screen = await phone.send("98")
        assert len(screen) - 4 <= 182
        seen += numbered(screen)
    assert seen == [f"{n}. {LONG} {s}" for n, s in enumerate([9, 8, 7, 6, 5, 3, 2, 1], 1)]
    assert "s4" not in screen and f"{LONG} 4" not in " ".join(seen)  # switched off
    assert "Hakuna zaidi." in await phone.send("98")
    back = await phone.send("0")  # the previous page
    assert numbered(back) and numbered(back) != numbered(screen)
    entered = await phone.send("8")  # a number from another page: s1
    assert entered == "CON Karibu s1\n1. Endelea\n0.Rudi"  # 0 leads back to the directory
    assert (await phone.send("0")) == screen  # the page that lists s1 (its last)
    await phone.send("8")
    assert (await phone.send("000")) == first  # back on the directory's first page
    assert (await phone.send("2")) == "CON Karibu s8\n1. Endelea\n0.Rudi"
    assert (await phone.send("0")) == first  # s8 is listed on the first page
    await phone.send("2")
    assert (await phone.send("1")).startswith("END Mwisho wa s8")


async def test_00_inside_a_service_is_its_start_and_a_wrong_number_is_hinted(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.write("alpha", ALPHA)
    menus.write("beta", BETA)
    menus.directory(["{file: alpha.yaml}", "{file: beta.yaml}"])
    phone = Phone(await gateway(**menus.settings()))
    await phone.dial()
    assert (await phone.send("5")).startswith("CON Chaguo si sahihi. Chagua 1-2.\nHuduma\n1. alpha")
    await phone.walk("2", "1")
    assert (await phone.send("00")).startswith("CON Karibu beta")


async def test_extended_and_direct_codes_reach_the_same_menu(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.service("s1")
    menus.service("s2", extra='codes: ["*152*77#"]')
    menus.directory(["{file: s1.yaml}", "{file: s2.yaml}"])
    client = await gateway(**menus.settings())
    extended = await Phone(client).dial("*152*00*2#")
    direct = await Phone(client).dial("*152*77#")
    assert direct == "CON Karibu s2\n1. Endelea"
    assert extended == direct + "\n0.Rudi"  # dialled on the directory's code: 0 leads there
    assert (await Phone(client).dial("*152*00*2*1#")).startswith("END Mwisho wa s2")
    assert (await Phone(client).dial("*152*77*1#")).startswith("END Mwisho wa s2")
    phone = Phone(client)
    await phone.dial("*152*00*2#")
    assert (await phone.send("000")).startswith("CON Huduma\n1. s1\n2. s2")
    direct_phone = Phone(client)
    await direct_phone.dial("*152*77#")  # no directory on this code: 000 is just a wrong entry
    assert (await direct_phone.send("000")).startswith("CON Chaguo si sahihi. Chagua 1.\nKaribu s2")
    assert (
        await direct_phone.send("0")
    ) == "CON Chaguo si sahihi. Chagua 1.\nKaribu s2\n1. Endelea"
    phone = Phone(client)
    await phone.dial("*152*00*2#")
    assert (await phone.send("0")).startswith("CON Huduma\n1. s1\n2. s2")


async def test_a_service_never_sees_another_services_variables(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.write("alpha", ALPHA)
    menus.write("beta", BETA)
    menus.directory(["{file: alpha.yaml}", "{file: beta.yaml}"])
    phone = Phone(await gateway(**menus.settings()))
    await phone.dial()
    await phone.send("1")
    assert "Siri: SIRI-YA-ALPHA" in await phone.send("1")
    await phone.send("000")
    await phone.send("2")
    peek = await phone.send("2")
    assert "Hakuna siri (sw)" in peek and "SIRI-YA-ALPHA" not in peek
    # and back: alpha's value is gone too once alpha is left
    await phone.send("000")
    await phone.send("2")
    assert "Siri: ya-beta" in await phone.send("1")
    await phone.send("000")
    await phone.send("1")
    assert "Siri: SIRI-YA-ALPHA" in await phone.send("1")


async def test_a_broken_file_disables_its_service_only_and_reload_keeps_the_rest(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.write("alpha", ALPHA)
    beta = menus.write("beta", BETA)
    menus.directory(["{file: alpha.yaml}", "{file: beta.yaml}"])
    client = await gateway(**menus.settings())

    # a served service whose file breaks keeps its version; another's edit is published
    beta.write_text(BETA.replace("next: peek}", "next: nowhere}", 1))
    alpha = menus.dir / "alpha.yaml"
    alpha.write_text(ALPHA.replace("Karibu alpha", "Karibu tena alpha"))
    status, answer = await reload(client)
    assert status == 422, answer
    assert answer["published"] is True and answer["disabled"] == {}
    assert list(answer["kept"]) == ["beta"]
    assert f"{beta}:" in answer["kept"]["beta"][0]
    assert "leads to unknown screen 'nowhere'" in answer["kept"]["beta"][0]
    assert answer["services"]["alpha"]["changed"] is True
    phone = Phone(client)
    await phone.dial()
    assert (await phone.send("1")).startswith("CON Karibu tena alpha")
    other = Phone(client)
    await other.dial()
    assert (await other.send("2")).startswith("CON Karibu beta")

    # a new service that never loaded is listed as unavailable in the citizen's language
    gamma = menus.write("gamma", "service: gamma\nlanguages: [sw, en]\nscreens: {}\n")
    menus.directory(["{file: alpha.yaml}", "{file: beta.yaml}", "{file: gamma.yaml}"])
    status, answer = await reload(client)
    assert status == 422 and list(answer["disabled"]) == ["gamma"], answer
    assert any(str(gamma) in p for p in answer["disabled"]["gamma"])
    phone = Phone(client)
    listing = await phone.dial()
    assert "3. gamma (haipatikani kwa muda)" in listing
    assert (await phone.send("3")).startswith("CON gamma (haipatikani kwa muda)\nHuduma")

    # fixed: everything is served, 200
    gamma.write_text(SERVICE.format(name="gamma", label="gamma", extra=""))
    beta.write_text(BETA)
    status, answer = await reload(client)
    assert status == 200, answer
    phone = Phone(client)
    assert "3. gamma\n" in (await phone.dial()) + "\n"
    assert (await phone.send("3")).startswith("CON Karibu gamma")


async def test_the_directory_speaks_the_citizens_language(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.write("alpha", ALPHA)
    menus.directory(["{file: alpha.yaml}", "{file: broken.yaml}"])
    menus.write("broken", "service: broken\nlanguages: [sw, en]\nstart: x\nscreens: {}\n")
    client = await gateway(**menus.settings())
    phone = Phone(client)
    await phone.dial()
    await phone.send("1")
    entries = await phone.send("000")
    assert "2. broken (haipatikani kwa muda)" in entries
    await client.app[SESSIONS].remember_language(phone.number, "en")
    screen = await phone.dial()
    assert screen.startswith("CON Services\n1. alpha\n2. broken (temporarily unavailable)")
    assert (await phone.send("2")).startswith("CON broken (temporarily unavailable)\nServices")


async def reload(client: TestClient) -> tuple[int, Any]:
    response = await client.post("/admin/reload", headers=AUTH)
    return response.status, await response.json()


def test_codes_and_keywords_claimed_by_two_services_stop_the_load_naming_both(
    menus: Menus,
) -> None:
    first = menus.service("s1", extra='codes: ["*152*77#"]\nkeywords: [{word: HUDUMA}]')
    second = menus.service("s2", extra='codes: ["*152*77#"]\nkeywords: [{word: [huduma]}]')
    settings = shipped_settings(**menus.settings(env={}))
    with pytest.raises(DefinitionError) as raised:
        read_menus(settings)
    problems = [str(p) for p in raised.value.problems]
    assert any(
        p.startswith(f"{second}:")
        and "short code *152*77# is claimed by 's2' and by 's1'" in p
        and str(first) in p
        for p in problems
    ), problems
    assert any(
        p.startswith(f"{second}:")
        and "SMS keyword HUDUMA is declared by 's2' and by 's1'" in p
        and str(first) in p
        for p in problems
    ), problems


def test_validate_names_both_files_of_a_keyword_clash(menus: Menus) -> None:
    first = menus.service("s1", extra="keywords: [{word: {sw: HUDUMA, en: SERVICE}}]")
    second = menus.service("s2", extra="keywords: [{word: {sw: KAZI, en: service}}]")
    result = subprocess.run(
        [str(BIN / "ussd-gateway"), "validate", str(first), str(second)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"{second}:7: keywords: SMS keyword SERVICE is declared by 's2' and by 's1' ({first}:7)"
        in result.stdout.splitlines()
    ), result.stdout


def post(url: str, session: str, text: str, code: str = "*152*00#") -> str:
    form = {
        "sessionId": session,
        "serviceCode": code,
        "phoneNumber": "+255712000777",
        "networkCode": "64004",
        "text": text,
    }
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(url, data=data, timeout=10) as response:
        return response.read().decode()


def test_serve_starts_with_a_broken_service_and_serves_the_others(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    """``ussd-gateway serve`` on the shipped config and menus, the meeting's file broken: the log
    names file and problem, the directory marks it, e-Mrejesho works end to end over HTTP."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "menus", tmp_path / "menus")
    meeting = tmp_path / "menus" / "egov_meeting.yaml"
    meeting.write_text(meeting.read_text().replace("next: institution", "next: taasisi", 1))
    line = 1 + next(  # a wrong `next` of an input is blamed on its screen's first key
        n for n, text in enumerate(meeting.read_text().splitlines(), 1) if text == "  name:"
    )
    server = serve("--no-worker")
    output = server.output()
    assert (
        f"service egov_meeting disabled: {meeting}:{line}: name: "
        "leads to unknown screen 'taasisi'" in output
    ), output
    url = server.url
    listing = post(url, "s1", "")
    assert "2. Kikao Kazi cha Serikali Mtandao (haipatikani kwa muda)" in listing, listing
    assert post(url, "s1", "2").startswith("CON Kikao Kazi cha Serikali Mtandao (haipatikani")
    assert post(url, "s2", "", "*152*00*2#").startswith("CON Kikao Kazi cha Serikali Mtandao (")
    entries = ["1", "1", "1", "1", "Umeme umekatika siku tatu", "2", "1"]
    reply = ""
    for n in range(1, len(entries) + 1):
        reply = post(url, "s3", "*".join(entries[:n]))
    assert reply.startswith("END Asante! Mrejesho umepokelewa."), reply


def test_graph_draws_the_directory_with_its_services_and_the_way_back(menus: Menus) -> None:
    menus.write("alpha", ALPHA)
    menus.write("broken", "service: broken\nlanguages: [sw, en]\nstart: x\nscreens: {}\n")
    directory = menus.directory(["{file: alpha.yaml}", "{file: broken.yaml}"])
    result = subprocess.run(
        [str(BIN / "ussd-gateway"), "graph", str(directory), "--format", "mermaid"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert '  s_home["home (directory)<br/>Huduma"]' in lines
    assert '  s_alpha["alpha (service)<br/>Karibu alpha<br/>Taasisi A"]' in lines
    assert '  s_broken["broken<br/>(temporarily unavailable)"]:::missing' in lines
    assert '  s_home -->|"1. alpha"| s_alpha' in lines
    assert '  s_alpha -->|"000 (directory)"| s_home' in lines
    assert '  s_home -->|"2. broken (haipatikani kwa muda)"| s_broken' in lines
    assert not any(line.startswith("  s_broken -->") for line in lines)  # no way back drawn


async def test_a_dropped_journey_in_a_service_is_offered_back_when_the_directory_is_dialled(
    gateway: GatewayFactory,
) -> None:
    client = await gateway(service_codes={"*152*00#": "serikali"})
    phone = Phone(client, number="+255712000099")
    await phone.dial()
    await phone.walk("1", "1", "1")  # e-Mrejesho, give feedback, complaint: the institutions
    offer = await phone.dial()  # the call dropped; dialled again
    assert offer.startswith("CON Hukumaliza e-Mrejesho.")
    assert (await phone.send("1")).startswith("CON Chagua taasisi")
    assert (await phone.send("000")).startswith("CON Huduma za Serikali")
    assert (await phone.dial()).startswith("CON Huduma za Serikali")  # nothing left to resume


def test_a_services_extended_code_must_be_its_number_in_the_directory(menus: Menus) -> None:
    menus.service("s1")
    second = menus.service("s2", extra='codes: ["*152*00*2#"]')
    menus.directory(["{file: s1.yaml}", "{file: s2.yaml}"])
    settings = shipped_settings(**menus.settings(env={}))
    definitions, router = read_menus(settings)  # the same number: fine, one menu either way
    assert router.resolve("*152*00*2#").definition is definitions["s2"]
    menus.directory(["{file: s2.yaml}", "{file: s1.yaml}"])
    with pytest.raises(DefinitionError) as raised:
        read_menus(settings)
    assert [str(p) for p in raised.value.problems] == [
        f"{second}:7: -: short code *152*00*2# is claimed by 's2' but directory 'kurasa' "
        f"({menus.dir / 'directory.yaml'}) lists 's1' there"
    ]


async def test_entering_a_service_from_the_directory_counts_as_its_start(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.service("s1")
    menus.service("s2")
    menus.directory(["{file: s1.yaml}", "{file: s2.yaml}"])
    client = await gateway(**menus.settings())

    async def started(service: str) -> float:
        text = await (await client.get("/metrics")).text()
        labels = f'provider="africastalking",service="{service}"'
        pattern = rf"^ussd_sessions_started_total\{{{labels}\}} (\S+)$"
        found = re.search(pattern, text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    before = await started("s2"), await started("kurasa")
    phone = Phone(client)
    await phone.dial()
    await phone.send("2")
    assert (await started("s2"), await started("kurasa")) == (before[0] + 1, before[1] + 1)


async def test_0_on_a_services_first_screen_leads_back_to_the_directory_and_says_so(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.write("alpha", ALPHA)
    own_word = "start: home\nmessages: {back: {sw: Nyuma, en: Go back}}\n"
    menus.write("beta", BETA.replace("start: home\n", own_word))
    menus.directory(["{file: alpha.yaml}", "{file: beta.yaml}"])
    client = await gateway(**menus.settings())
    phone = Phone(client)
    first = await phone.dial()
    assert first == "CON Huduma\n1. alpha\n2. beta"
    assert (await phone.send("1")) == "CON Karibu alpha\n1. Weka siri\n0.Rudi"
    assert (await phone.send("0")) == first
    # a service's own word for back (messages:) is its footer's too
    assert (await phone.send("2")) == "CON Karibu beta\n1. Weka yangu\n2. Tazama\n0.Nyuma"
    assert (await phone.send("2")).endswith("\n1. Mwanzo\n0.Nyuma 00.Mwanzo")
    assert (await phone.send("0")).startswith("CON Karibu beta\n")  # back inside beta first
    assert (await phone.send("0")) == first
    await client.app[SESSIONS].remember_language(phone.number, "en")
    english = Phone(client, number=phone.number)
    await english.dial()
    assert (await english.send("1")) == "CON Welcome to alpha\n1. Set secret\n0.Back"
    assert (await english.send("0")) == "CON Services\n1. alpha\n2. beta"


async def test_the_configured_back_key_is_the_one_offered_and_obeyed(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.write("alpha", ALPHA)
    menus.directory(["{file: alpha.yaml}"])
    keys = NavigationKeys(back="9", home="99", more="98", directory="999")
    phone = Phone(await gateway(**menus.settings(navigation=keys)))
    first = await phone.dial()
    assert (await phone.send("1")) == "CON Karibu alpha\n1. Weka siri\n9.Rudi"
    assert (
        await phone.send("0")
    ) == "CON Chaguo si sahihi. Chagua 1.\nKaribu alpha\n1. Weka siri\n9.Rudi"
    assert (await phone.send("9")) == first


LONG_START = """\
service: long
owner: {{institution: "Taasisi L", contact: "l@example.go.tz"}}
backend: feedback
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text:
      sw: "{text}"
      en: "Welcome"
    options:
      - {{label: {{sw: "Endelea", en: "Go on"}}, next: done}}
  done:
    type: end
    text: {{sw: "Mwisho", en: "End"}}
"""


def test_a_listed_services_first_screen_must_fit_with_the_directorys_footer(
    menus: Menus,
) -> None:
    text = ("Huduma hii inatoa taarifa za serikali kwa wananchi wote. " * 3)[:170]
    assert len(f"{text}\n1. Endelea") <= 182 < len(f"{text}\n1. Endelea\n0.Rudi")
    long = menus.write("long", LONG_START.format(text=text))
    menus.service("s1")
    settings = shipped_settings(**menus.settings(env={}))
    directory = menus.directory(["{file: s1.yaml}", "{file: long.yaml, enabled: false}"])
    loaded = load_services(settings)  # switched off: never entered, no footer to fit
    assert "long" in loaded.definitions and not loaded.disabled

    menus.directory(["{file: s1.yaml}", "{file: long.yaml}"])
    loaded = load_services(settings)
    expected = (
        f"{long}:10: home: sw: screen can reach 188 characters (gsm7), over the 182 a phone "
        "shows (entered through directory 'kurasa': its footer '0.Rudi')"
    )
    assert list(loaded.disabled) == ["long"]  # its service alone; the directory marks it
    assert loaded.disabled["long"].lines() == [expected]
    assert "s1" in loaded.definitions and "kurasa" in loaded.definitions

    result = subprocess.run(
        [str(BIN / "ussd-gateway"), "validate", str(long), str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stdout.splitlines(), result.stdout


def test_serve_starts_with_a_broken_directory_and_serves_a_plain_list(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    """``ussd-gateway serve`` on the shipped config and menus, a typo in the directory file:
    the log says what the code serves instead (file, line, problem), ``validate`` reports the
    same line, and a citizen dialling *152*00# picks a service and finishes the journey."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "menus", tmp_path / "menus")
    directory = tmp_path / "menus" / "directory.yaml"
    text = directory.read_text()
    typo = "    ordr: 2"
    directory.write_text(text.replace("    order: 2", typo, 1))
    line = next(n for n, x in enumerate(directory.read_text().splitlines(), 1) if typo in x)
    problem = f"{directory}:{line}: directory: unknown key 'ordr' in a service entry"
    server = serve("--no-worker")
    output = server.output()
    assert (
        "directory serikali is broken: serving a plain list of mrejesho, egov_meeting, bills "
        f"instead: {problem}" in output
    ), output
    assert "WARNING" in next(x for x in output.splitlines() if problem in x)
    url = server.url
    listing = post(url, "s1", "")
    assert listing == (
        "CON Huduma za Serikali\n1. e-Mrejesho\n2. Usajili wa Kikao Kazi cha Serikali Mtandao"
        "\n3. Malipo ya Serikali"
    )
    assert "haipatikani" not in listing
    assert post(url, "s1", "2").startswith("CON Kikao Kazi cha Serikali Mtandao")
    assert post(url, "s2", "", "*152*00*1#").startswith("CON Karibu e-Mrejesho")
    entries = ["1", "1", "1", "2", "Umeme umekatika siku tatu", "2", "1"]
    reply = ""
    for n in range(1, len(entries) + 1):
        reply = post(url, "s3", "*".join(entries[:n]))
    assert reply.startswith("END Asante! Mrejesho umepokelewa."), reply

    checked = subprocess.run(
        [str(BIN / "ussd-gateway"), "--config", str(tmp_path / "config" / "gateway.yaml"),
         "validate"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert problem in checked.stdout.splitlines()


async def test_a_directory_that_cannot_be_read_lists_every_service_that_loaded(
    gateway: GatewayFactory, menus: Menus, caplog: pytest.LogCaptureFixture
) -> None:
    menus.write("beta", BETA)
    menus.write("alpha", ALPHA)
    menus.write("broken", "service: broken\nlanguages: [sw, en]\nstart: x\nscreens: {}\n")
    directory = menus.write(
        "directory", "directory: kurasa\nservices:\n  - {file: beta.yaml\n  - {file: alpha.yaml}\n"
    )
    client = await gateway(**menus.settings())
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        m.startswith("directory kurasa is broken: serving a plain list of alpha, beta instead: ")
        and f"{directory}:4: -: not valid YAML" in m
        for m in warned
    ), warned
    phone = Phone(client)
    assert await phone.dial() == "CON Huduma\n1. alpha\n2. beta"
    assert (await phone.send("2")).startswith("CON Karibu beta")
    assert (await phone.send("0")).startswith("CON Huduma\n1. alpha")  # the way back works too


async def test_a_broken_directory_on_reload_keeps_the_last_good_one(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.write("alpha", ALPHA)
    menus.write("beta", BETA)
    menus.directory(["{file: alpha.yaml}", "{file: beta.yaml}"])
    client = await gateway(**menus.settings())
    inside = Phone(client, number="+255712000501")
    await inside.dial()
    await inside.send("2")  # in beta when the directory breaks

    broken = menus.directory(["{file: beta.yaml}", "{file: alpha.yaml, ordr: 2}"])
    status, answer = await reload(client)
    assert status == 422, answer
    assert answer["published"] is True and list(answer["kept"]) == ["kurasa"]
    assert answer["kept"]["kurasa"] == [
        f"{broken}:6: directory: unknown key 'ordr' in a service entry"
    ]
    assert answer["problems"] == answer["kept"]["kurasa"]
    phone = Phone(client)
    assert (await phone.dial()).startswith("CON Huduma\n1. alpha\n2. beta")  # as it was
    assert (await phone.send("2")).startswith("CON Karibu beta")
    assert (await inside.send("1")).startswith("CON Siri: ya-beta")  # the session goes on
    assert (await inside.send("000")).startswith("CON Huduma\n1. alpha\n2. beta")

    # fixed: published, in its new order
    menus.directory(["{file: beta.yaml}", "{file: alpha.yaml, order: 2}"])
    status, answer = await reload(client)
    assert status == 200, answer
    assert (await Phone(client).dial()).startswith("CON Huduma\n1. beta\n2. alpha")


async def test_a_directory_broken_at_start_stays_a_plain_list_until_it_is_fixed(
    gateway: GatewayFactory, menus: Menus
) -> None:
    menus.write("alpha", ALPHA)
    menus.write("beta", BETA)
    menus.write("gamma", SERVICE.format(name="gamma", label="gamma", extra=""))
    directory = menus.directory(["{file: beta.yaml}", "{file: alpha.yaml, ordr: 2}"])
    client = await gateway(**menus.settings())
    phone = Phone(client)
    assert await phone.dial() == "CON Huduma\n1. beta\n2. alpha"  # what it lists, in its order
    assert (await phone.send("1")).startswith("CON Karibu beta")

    status, answer = await reload(client)  # still broken: still the plain list, and said so
    assert status == 422, answer
    assert answer["published"] is True and answer["kept"] == {}
    assert answer["fallback"] == {
        "kurasa": [f"{directory}:6: directory: unknown key 'ordr' in a service entry"]
    }
    assert await Phone(client).dial() == "CON Huduma\n1. beta\n2. alpha"

    menus.directory(["{file: gamma.yaml}", "{file: alpha.yaml}"])
    status, answer = await reload(client)
    assert status == 200, answer
    assert await Phone(client).dial() == "CON Huduma\n1. gamma\n2. alpha"


def test_validate_and_journey_tests_refuse_a_broken_directory(menus: Menus) -> None:
    menus.write("alpha", ALPHA)
    menus.directory(["{file: alpha.yaml, lable: x}"])
    settings = shipped_settings(**menus.settings(env={}))
    loaded = load_services(settings)
    assert list(loaded.fallback) == ["kurasa"] and "kurasa" in loaded.definitions
    with pytest.raises(DefinitionError) as raised:
        load_definitions(settings)
    assert [p.message for p in raised.value.problems] == ["unknown key 'lable' in a service entry"]
