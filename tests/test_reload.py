"""Hot reload on the real app: sessions finish on the menus they started on, new ones get the
new menus, a broken edit is refused while the old menus keep serving, old versions are let go."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import CONFIG, ROOT, GatewayFactory, project_settings
from tests.support.clock import FakeClock
from tests.support.phone import Phone
from ussd_gateway.config.settings import ConfigError
from ussd_gateway.http.app import create_app

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

JOURNEY = ("1", "1", "1", "Umeme umekatika siku tatu sasa", "2", "1")
"""Give feedback, complaint, first institution, message, anonymous, send."""

V1_KIND, V2_KIND = "Aina ya mrejesho", "Chagua aina ya mrejesho"
V1_DONE, V2_DONE = "Asante! Mrejesho umepokelewa.", "Ahsante! Tumepokea mrejesho wako."


class Project:
    """A copy of the shipped menus and catalogue that a test may edit."""

    def __init__(self, root: Path) -> None:
        self.menus = root / "menus"
        self.menus.mkdir()
        self.menu = self.menus / "mrejesho.yaml"
        shutil.copy(ROOT / "menus" / "mrejesho.yaml", self.menu)
        self.institutions = root / "institutions.yaml"
        shutil.copy(ROOT / "config" / "institutions.yaml", self.institutions)

    def edit(self, old: str, new: str, path: Path | None = None) -> None:
        path = path or self.menu
        source = path.read_text()
        assert old in source, old
        path.write_text(source.replace(old, new, 1))

    def publish_v2(self) -> None:
        self.edit(f'sw: "{V1_KIND}"', f'sw: "{V2_KIND}"')
        self.edit(f'sw: "{V1_DONE}', f'sw: "{V2_DONE}')

    def break_it(self) -> int:
        """A ``next`` naming no screen, in the kind screen; returns the line blamed."""
        self.edit("next: institution}", "next: nowhere}")
        lines = self.menu.read_text().splitlines()
        return next(n for n, line in enumerate(lines, 1) if "next: nowhere}" in line)

    def settings(self, **changes: Any) -> dict[str, Any]:
        changes.setdefault("env", {"ADMIN_TOKEN": TOKEN})
        return {
            "menus_dir": self.menus,
            "catalogues": {"institutions": self.institutions},
            **changes,
        }


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def phones(client: TestClient, count: int, first: int = 0) -> list[Phone]:
    return [Phone(client, number=f"+2557130{first + n:05d}") for n in range(count)]


async def reload(client: TestClient, headers: dict[str, str] | None = None) -> Any:
    response = await client.post("/admin/reload", headers=AUTH if headers is None else headers)
    return response.status, await response.json()


async def versions(client: TestClient) -> dict[str, Any]:
    response = await client.get("/admin/menus", headers=AUTH)
    assert response.status == 200
    return (await response.json())["services"]["mrejesho"]


async def test_sessions_finish_on_v1_new_ones_get_v2_and_a_broken_v3_is_refused(
    gateway: GatewayFactory, project: Project
) -> None:
    client = await gateway(**project.settings())
    v1 = (await versions(client))["current"]
    # twelve citizens at every stage of the journey when the operator publishes
    started = phones(client, 12)
    for n, phone in enumerate(started):
        await phone.dial()
        await phone.walk(*JOURNEY[: n % len(JOURNEY)])

    async def finish(phone: Phone, done: int) -> list[str]:
        return [await phone.send(entry) for entry in JOURNEY[done:]]

    project.publish_v2()
    (status, answer), *journeys = await asyncio.gather(
        reload(client),
        *(finish(p, n % len(JOURNEY)) for n, p in enumerate(started)),
    )
    assert status == 200, answer
    v2 = answer["services"]["mrejesho"]["new"]
    assert answer == {
        "ok": True,
        "trigger": "admin",
        "services": {"mrejesho": {"old": v1, "new": v2, "changed": True}},
    }
    for n, screens in enumerate(journeys):
        assert screens[-1].startswith("END ") and V1_DONE in screens[-1], screens
        if n % len(JOURNEY) == 0:  # on the home screen: the kind screen was ahead of them
            assert any(V1_KIND in s for s in screens), screens
        assert not any(V2_KIND in s or V2_DONE in s for s in screens), screens
    assert await versions(client) == {"current": v2, "retained": [v1]}

    fresh = phones(client, 3, first=100)
    for phone in fresh:
        await phone.dial()
        assert V2_KIND in await phone.send("1")
    mid_v2 = fresh[0]

    line = project.break_it()
    status, answer = await reload(client)
    assert status == 422
    assert answer["ok"] is False
    assert f"{project.menu}:{line}: kind: leads to unknown screen 'nowhere'" in answer["problems"]
    assert all(re.match(r".+\.yaml(:\d+)?: \S+: ", p) for p in answer["problems"]), answer
    # v2 keeps serving, to those on it and to new citizens
    assert V2_DONE in await mid_v2.walk(*JOURNEY[1:])
    for phone in fresh[1:]:
        await phone.dial()
        assert V2_KIND in await phone.send("1")
    assert (await versions(client))["current"] == v2


@pytest.mark.parametrize(
    ("env", "headers", "status"),
    [
        ({}, AUTH, 403),  # no ADMIN_TOKEN: admin is closed to everyone
        ({"ADMIN_TOKEN": TOKEN}, {}, 401),
        ({"ADMIN_TOKEN": TOKEN}, {"Authorization": "Bearer nope"}, 401),
        ({"ADMIN_TOKEN": TOKEN}, {"Authorization": f"Basic {TOKEN}"}, 401),
    ],
)
async def test_admin_needs_the_token_and_nothing_is_reloaded_without_it(
    gateway: GatewayFactory,
    project: Project,
    env: dict[str, str],
    headers: dict[str, str],
    status: int,
) -> None:
    client = await gateway(**project.settings(env=env))
    project.publish_v2()
    for method, path in (("POST", "/admin/reload"), ("GET", "/admin/menus")):
        response = await client.request(method, path, headers=headers)
        assert response.status == status
        assert await response.text() == ""  # no detail for a refused caller
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    phone = Phone(client)
    await phone.dial()
    assert V1_KIND in await phone.send("1")


async def test_a_dropped_v1_journey_resumes_and_finishes_on_v1(
    gateway: GatewayFactory, project: Project
) -> None:
    client = await gateway(**project.settings())
    phone = Phone(client)
    await phone.dial()
    await phone.walk(*JOURNEY[:4])  # message typed, on "do you want to give your name?"
    project.publish_v2()
    status, answer = await reload(client)
    assert status == 200, answer
    assert "Hukumaliza" in await phone.dial()  # the call dropped; the citizen dials again
    assert "Ungependa kujitambulisha?" in await phone.send("1")
    assert V1_DONE in await phone.walk("2", "1")
    await phone.dial()
    assert V2_KIND in await phone.send("1")


async def test_a_catalogue_change_is_a_new_version(
    gateway: GatewayFactory, project: Project
) -> None:
    """A citizen choosing from the list they saw gets that item, even if the list changed."""
    client = await gateway(**project.settings())
    before, after = phones(client, 2)
    await before.dial()
    assert "1. TANESCO - Umeme" in await before.walk("1", "1")
    renamed = "TANESCO - Umeme na Nishati"
    project.edit('{sw: "TANESCO - Umeme"', f'{{sw: "{renamed}"', project.institutions)
    status, answer = await reload(client)
    assert status == 200 and answer["services"]["mrejesho"]["changed"], answer
    assert "TANESCO - Umeme\nAndika ujumbe wako" in await before.send("1")
    await after.dial()
    assert f"1. {renamed}" in await after.walk("1", "1")
    assert f"{renamed}\nAndika ujumbe wako" in await after.send("1")


async def test_an_unused_old_version_is_released_after_ttl_and_resume_window(
    gateway: GatewayFactory, project: Project
) -> None:
    clock = FakeClock()
    client = await gateway(**project.settings(), ttl=1.5, resume_window=0.5, clock=clock)  # 2 s
    phone = Phone(client)
    await phone.dial()
    await phone.send("1")
    v1 = (await versions(client))["current"]
    project.publish_v2()
    status, answer = await reload(client)
    assert status == 200, answer
    v2 = answer["services"]["mrejesho"]["new"]
    for entry in JOURNEY[1:4]:  # the citizen keeps going: each hop keeps v1 alive
        clock.advance(0.7)
        await phone.send(entry)
    assert await versions(client) == {"current": v2, "retained": [v1]}  # 2.1 s after reload
    assert V1_DONE in await phone.walk(*JOURNEY[4:])
    clock.advance(2.2)
    assert await versions(client) == {"current": v2, "retained": []}
    await phone.dial()
    assert V2_KIND in await phone.send("1")


async def test_a_reload_that_changes_nothing_keeps_the_version(
    gateway: GatewayFactory, project: Project
) -> None:
    client = await gateway(**project.settings())
    v1 = (await versions(client))["current"]
    status, answer = await reload(client)
    assert status == 200
    assert answer["services"] == {"mrejesho": {"old": v1, "new": v1, "changed": False}}
    assert await versions(client) == {"current": v1, "retained": []}


# ---- a process that does not hold the session's version (it restarted) ----------------------


@pytest.fixture
def start(aiohttp_client: Callable[..., Any], redis_url: str, sqlite_url: str) -> Any:
    async def start_app(project: Project) -> TestClient:
        settings = project_settings(
            **project.settings(), redis_url=redis_url, database_url=sqlite_url
        )
        return await aiohttp_client(create_app(settings))

    return start_app


async def test_a_restarted_process_moves_sessions_to_the_current_version_gently(
    start: Any, project: Project
) -> None:
    before = await start(project)
    on_menu, on_input, on_gone = phones(before, 3)
    for phone in (on_menu, on_input, on_gone):
        await phone.dial()
    await on_input.walk("1", "1", "1")
    await on_gone.walk(*JOURNEY[:4])  # on "identify", which v2 renames
    project.publish_v2()
    project.edit("next: identify", "next: identity")
    project.edit("  identify:", "  identity:")
    after = await start(project)  # a new process, same Redis, only v2 in memory
    for phone in (on_menu, on_input, on_gone):
        phone.client = after

    # a choice made on a screen that may have changed is not applied: the screen is shown again
    screen = await on_menu.send("1")
    assert screen.startswith("CON Huduma imesasishwa.\nKaribu e-Mrejesho"), screen
    assert V2_KIND in await on_menu.send("1")
    # a typed message means the same on any version: it is kept
    assert "Ungependa kujitambulisha?" in await on_input.send("Maji hayatoki wiki nzima")
    # the screen is gone: start again, saying why
    screen = await on_gone.send("2")
    assert screen.startswith("CON Huduma imesasishwa.\nKaribu e-Mrejesho"), screen


async def test_watching_configured_in_gateway_yaml_publishes_a_saved_file(
    gateway: GatewayFactory, project: Project
) -> None:
    sections = {"reload": {"watch": True, "poll_interval": 0.05}}
    client = await gateway(**project.settings(), sections=sections)
    project.publish_v2()
    phone = Phone(client)
    for _ in range(100):
        await phone.dial()
        if V2_KIND in await phone.send("1"):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the saved file was not published")


def test_a_bad_reload_section_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError) as error:
        project_settings(sections={"reload": {"poll_interval": "soon", "wach": True}})
    assert error.value.problems == (
        f"{CONFIG}: reload.wach: unknown key, did you mean watch?",
        f"{CONFIG}: reload.poll_interval: expected seconds, got 'soon'",
    )


async def test_a_reload_at_one_process_reaches_every_process_sharing_redis(
    start: Any, project: Project
) -> None:
    first, second = await start(project), await start(project)
    v1 = (await versions(second))["current"]
    project.publish_v2()
    status, answer = await reload(first)
    assert status == 200, answer
    v2 = answer["services"]["mrejesho"]["new"]
    for _ in range(100):
        if (await versions(second))["current"] == v2:
            break
        await asyncio.sleep(0.05)
    assert await versions(second) == {"current": v2, "retained": [v1]}
    # a journey started at one process and continued at the other sees one version throughout
    phone = Phone(first)
    await phone.dial()
    phone.client = second
    screens = [await phone.send(entry) for entry in JOURNEY]
    assert V2_KIND in screens[0] and V2_DONE in screens[-1], screens
    assert not any("Huduma imesasishwa" in s for s in screens), screens


async def test_the_reload_channel_survives_a_redis_restart(
    aiohttp_client: Callable[..., Any],
    isolated_redis_server: Any,
    sqlite_url: str,
    project: Project,
) -> None:
    settings = project_settings(
        **project.settings(), redis_url=isolated_redis_server.url, database_url=sqlite_url
    )
    first = await aiohttp_client(create_app(settings))
    second = await aiohttp_client(create_app(settings))
    isolated_redis_server.stop()
    await asyncio.sleep(0.5)
    isolated_redis_server.start()
    project.publish_v2()
    for _ in range(60):  # the listener resubscribes within a second or so
        status, answer = await reload(first)
        assert status == 200, answer
        if (await versions(second))["current"] == answer["services"]["mrejesho"]["new"]:
            break
        project.edit("Karibu e-Mrejesho", "Karibu e-Mrejesho ")  # a new version to announce
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the other process never heard of the reload")
