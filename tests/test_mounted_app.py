"""An institution's own USSD application mounted under the directory: a real small aiohttp USSD
app (Africa's Talking's format) behind a directory entry of ``type: app``, driven through the
gateway's real webhook, store and database."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import GatewayFactory
from tests.support.phone import Phone
from tests.test_directory import Menus

UNAVAILABLE_SW = "Samahani, huduma haipatikani kwa sasa. Tafadhali jaribu tena baadaye."


class BankApp:
    """What an institution already runs: an Africa's Talking USSD callback."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.hang = asyncio.Event()

    async def callback(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.seen.append({k: str(v) for k, v in form.items()})
        text = str(form.get("text", ""))
        if text == "":
            body = "CON Karibu Benki\n1. Salio\n2. Msaada"
        elif text == "1":
            body = "CON Weka PIN yako"
        elif text.startswith("1*"):
            body = f"END Salio lako ni TZS 5,000 (PIN {len(text) - 2} tarakimu)"
        elif text == "2":
            await self.hang.wait()  # a system that hangs
            body = "END late"
        elif text == "3":
            return web.Response(status=500, text="boom")
        else:
            body = "not a ussd reply"
        return web.Response(text=body, content_type="text/plain")


@pytest.fixture
def menus(tmp_path: Path) -> Menus:
    return Menus(tmp_path)


@pytest.fixture
async def bank(aiohttp_server: Callable[..., Any]) -> Any:
    app = BankApp()
    server_app = web.Application()
    server_app.router.add_post("/ussd", app.callback)
    server = await aiohttp_server(server_app)
    app.url = str(server.make_url("/ussd"))  # type: ignore[attr-defined]
    yield app
    app.hang.set()


def mount(menus: Menus, url: str) -> None:
    menus.service("s1", "Huduma ya kwanza")
    menus.directory(
        [
            "{file: s1.yaml}",
            "{type: app, app: benki, url: '" + url + "', service_code: '*150*01#',"
            " timeout: 0.5, label: {sw: 'Benki yetu', en: 'Our bank'}}",
        ]
    )


async def test_each_hop_is_relayed_with_text_counted_from_the_entry(
    gateway: GatewayFactory, menus: Menus, bank: Any
) -> None:
    mount(menus, bank.url)
    phone = Phone(await gateway(**menus.settings()))
    directory = await phone.dial()
    assert directory.startswith("CON Huduma\n1. Huduma ya kwanza\n2. Benki yetu")
    assert await phone.send("2") == "CON Karibu Benki\n1. Salio\n2. Msaada"
    assert await phone.send("1") == "CON Weka PIN yako"
    assert await phone.send("1234") == "END Salio lako ni TZS 5,000 (PIN 4 tarakimu)"
    assert phone.text == "2*1*1234"  # the gateway's own session, from the directory
    assert [hop["text"] for hop in bank.seen] == ["", "1", "1*1234"]
    assert {hop["phoneNumber"] for hop in bank.seen} == {phone.number}
    assert {hop["serviceCode"] for hop in bank.seen} == {"*150*01#"}
    assert len({hop["sessionId"] for hop in bank.seen}) == 1
    # the session ended: a retry of the last request is the same END, not a new hop to the app
    assert await phone.post() == "END Salio lako ni TZS 5,000 (PIN 4 tarakimu)"
    assert len(bank.seen) == 3


async def test_000_returns_to_the_directory_and_a_new_visit_starts_afresh(
    gateway: GatewayFactory, menus: Menus, bank: Any
) -> None:
    mount(menus, bank.url)
    phone = Phone(await gateway(**menus.settings()))
    directory = await phone.dial()
    await phone.walk("2", "1")
    assert await phone.send("000") == directory
    assert await phone.send("1") == "CON Karibu s1\n1. Endelea\n0.Rudi"
    assert await phone.send("000") == directory
    assert await phone.send("2") == "CON Karibu Benki\n1. Salio\n2. Msaada"
    assert [hop["text"] for hop in bank.seen] == ["", "1", ""]


async def test_a_hanging_or_failing_app_gets_the_unavailable_hint_in_time(
    gateway: GatewayFactory, menus: Menus, bank: Any
) -> None:
    mount(menus, bank.url)
    phone = Phone(await gateway(**menus.settings()))
    await phone.dial()
    first = await phone.send("2")
    hung = await phone.send("2")  # the app hangs past the entry's timeout
    assert hung == f"CON {UNAVAILABLE_SW}\n{first[4:]}"
    phone.entries.pop()  # the citizen types again; the failed entry was not counted
    assert await phone.send("3") == f"CON {UNAVAILABLE_SW}\n{first[4:]}"  # a 500
    phone.entries.pop()
    assert await phone.send("9") == f"CON {UNAVAILABLE_SW}\n{first[4:]}"  # not CON/END
    phone.entries.pop()
    assert await phone.send("1") == "CON Weka PIN yako"
    assert [hop["text"] for hop in bank.seen] == ["", "2", "3", "9", "1"]


async def test_an_app_that_is_down_leaves_the_citizen_on_the_directory(
    gateway: GatewayFactory, menus: Menus, unused_tcp_port: int
) -> None:
    mount(menus, f"http://127.0.0.1:{unused_tcp_port}/ussd")
    phone = Phone(await gateway(**menus.settings()))
    directory = await phone.dial()
    assert await phone.send("2") == f"CON {UNAVAILABLE_SW}\n{directory[4:]}"
    assert await phone.send("1") == "CON Karibu s1\n1. Endelea\n0.Rudi"


def test_the_validator_reports_a_broken_app_entry(menus: Menus) -> None:
    from ussd_gateway.config.settings import NavigationKeys
    from ussd_gateway.engine.directory import inspect_directory

    path = menus.directory(["{type: app, app: 'bad name', url: 'ftp://x', label: 5, colour: red}"])
    _, problems = inspect_directory(path, {}, {}, NavigationKeys())
    messages = [p.message for p in problems]
    assert "unknown key 'colour' in an app entry" in messages
    assert "an app entry needs 'app': its name (letters, digits, _)" in messages
    assert "an app entry needs 'url': its USSD application's http(s) address" in messages
    assert "an app entry needs 'label' with a text in sw, en" in messages


async def test_the_gateway_counts_the_app_as_a_service_of_the_directory(
    gateway: GatewayFactory, menus: Menus, bank: Any
) -> None:
    mount(menus, bank.url)
    client = await gateway(**menus.settings())

    async def metric(name: str, labels: str) -> float:
        text = await (await client.get("/metrics")).text()
        found = re.search(rf"^{name}\{{{labels}\}} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    entries = 'directory="kurasa",service="benki"'
    ended = 'provider="africastalking",reason="completed",service="benki"'
    before = (
        await metric("ussd_directory_entries_total", entries),
        await metric("ussd_sessions_ended_total", ended),
    )
    phone = Phone(client)
    await phone.dial("*152*00*2#")  # an extended code dials straight into the app
    assert phone.screens[-1] == "CON Karibu Benki\n1. Salio\n2. Msaada"
    await phone.walk("1", "0000")
    after = (
        await metric("ussd_directory_entries_total", entries),
        await metric("ussd_sessions_ended_total", ended),
    )
    assert after == (before[0] + 1, before[1] + 1)


def test_graph_draws_an_app_entry_with_its_host_not_its_path(menus: Menus) -> None:
    from ussd_gateway.application.menus.graph import directory_flow, to_mermaid
    from ussd_gateway.config.settings import NavigationKeys
    from ussd_gateway.engine.directory import inspect_directory

    path = menus.directory(
        ["{type: app, app: benki, url: 'https://u:key@ussd.benki.example/at?k=1', label: Benki}"]
    )
    definition, problems = inspect_directory(path, {}, {}, NavigationKeys())
    assert problems == [] and definition is not None
    drawn = to_mermaid(definition, directory_flow(definition, {}, "*152*00#"))
    assert 's_benki["benki (app)<br/>ussd.benki.example<br/>*152*00*1#"]' in drawn
    assert "key" not in drawn


def test_an_app_cannot_take_the_name_of_a_listed_service(menus: Menus) -> None:
    from ussd_gateway.config.settings import NavigationKeys
    from ussd_gateway.engine.directory import inspect_directory
    from ussd_gateway.engine.loader import load_menu

    service = menus.service("s1")
    path = menus.directory(
        ["{file: s1.yaml}", "{type: app, app: s1, url: 'http://127.0.0.1:9/', label: X}"]
    )
    loaded = {str(service.resolve()): load_menu(service)}
    _, problems = inspect_directory(path, loaded, {}, NavigationKeys())
    assert [p.message for p in problems] == [
        "app 's1' has the name of a service the directory lists"
    ]
