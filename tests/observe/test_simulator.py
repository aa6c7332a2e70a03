"""The browser simulator: served when enabled, absent otherwise, and usable in real Chromium."""

from __future__ import annotations

import os
import re
import shutil

import pytest
import yaml

from tests.conftest import ROOT, project_settings
from tests.support.phone import Phone
from ussd_gateway.config.settings import load_settings

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
if not os.path.exists(CHROMIUM):
    CHROMIUM = shutil.which("chromium") or CHROMIUM
NO_CHROMIUM = f"Debian's chromium is not installed ({CHROMIUM}); .ci/run installs it"
ARTIFACTS = ROOT / "test-artifacts"


def test_enabled_by_the_shipped_config_and_never_in_production(tmp_path) -> None:
    assert project_settings().simulator.enabled is True
    assert project_settings(env={"ENV": "production"}).simulator.enabled is False
    assert project_settings(env={"ENV": " Production "}).simulator.enabled is False
    assert project_settings(sections={"simulator": {"enabled": False}}).simulator.enabled is False
    empty = tmp_path / "gateway.yaml"
    empty.write_text("service_codes: {}\n")
    assert load_settings(empty, env={}).simulator.enabled is False


@pytest.mark.parametrize(
    "change",
    [{"env": {"ENV": "production"}}, {"sections": {"simulator": {"enabled": False}}}],
    ids=["production", "disabled"],
)
async def test_off_means_not_found(gateway, change) -> None:
    client = await gateway(**change)
    for path in ("/simulator", "/simulator/config", "/simulator/static/simulator.js"):
        assert (await client.get(path)).status == 404, path
    assert (await client.post("/simulator/language", json={})).status == 404


async def test_page_assets_and_configuration(client) -> None:
    page = await client.get("/simulator")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    for asset in re.findall(r'(?:src|href)="(/simulator/static/[^"]+)"', html):
        assert (await client.get(asset)).status == 200, asset
    config = await (await client.get("/simulator/config")).json()
    assert config["endpoint"] == "/ussd/africastalking"
    assert config["codes"] == [
        {"code": "*152*00#", "service": "mrejesho", "title": "e-Mrejesho",
         "languages": ["sw", "en"]}
    ]  # fmt: skip
    assert config["limits"] == {"gsm7": 182, "ucs2": 80}


async def test_language_for_a_number(client) -> None:
    bad = [
        {"phone": "not a number", "language": "en"},
        {"phone": "+255700000009", "language": "fr"},
        ["not", "an", "object"],
    ]
    for body in bad:
        response = await client.post("/simulator/language", json=body)
        assert response.status == 400 and (await response.text()).startswith("bad request: ")
    assert (await client.post("/simulator/language", data="{")).status == 400
    ok = await client.post("/simulator/language", json={"phone": "+255700000009", "language": "en"})
    assert ok.status == 200
    home = await Phone(client, number="+255700000009").dial()
    assert home.startswith("CON Welcome to e-Mrejesho")


def _launch_args() -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=NO_CHROMIUM)
async def test_a_whole_submission_in_headless_chromium(client) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=_launch_args(),
        )
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 760})
            await page.goto(str(client.make_url("/simulator")))
            await page.wait_for_function("document.querySelectorAll('#code option').length > 0")
            assert await page.input_value("#code") == "*152*00#"
            await page.fill("#phone", "+255700000042")
            await page.select_option("#language", "sw")

            async def screen_after(action: str, expected: str) -> str:
                await page.click(action)
                await page.wait_for_function(
                    "text => document.getElementById('screen').textContent.includes(text)",
                    arg=expected,
                )
                return await page.inner_text("#screen")

            async def press(keys: str, expected: str) -> str:
                for key in keys:
                    await page.click(f'.keypad button[data-key="{key}"]')
                return await screen_after("#dial", expected)

            home = await screen_after("#dial", "Karibu e-Mrejesho")
            assert "1. Toa mrejesho" in home
            status = await page.inner_text("#status")
            assert re.match(r"CON · \d+/182 GSM-7 · \d+ ms$", status), status
            await press("1", "Aina ya mrejesho")
            await press("1", "Chagua taasisi")
            await press("2", "Andika ujumbe wako")
            await page.fill("#entry", "Huduma ya TRA ilichelewa sana wiki hii")  # keyboard
            await screen_after("#dial", "Ungependa kujitambulisha?")
            await press("2", "Tuma kwa TRA")
            final = await press("1", "Namba ya kumbukumbu")
            reference = re.search(r"kumbukumbu: ([2-9A-Z]{8})", final)
            assert reference, final
            assert (await page.inner_text("#status")).startswith("END · ")
            assert await page.is_disabled("#entry")

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "simulator-reference.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:4] == b"\x89PNG"

            transcript = yaml.safe_load(await page.input_value("#transcript"))
            assert transcript["code"] == "*152*00#" and transcript["language"] == "sw"
            assert transcript["steps"][0] == {"dial": "*152*00#", "expect": "Karibu e-Mrejesho"}
            assert [s.get("send") for s in transcript["steps"][1:]] == [
                "1", "1", "2", "Huduma ya TRA ilichelewa sana wiki hii", "2", "1",
            ]  # fmt: skip
            assert transcript["steps"][-1]["expect"] == "Asante! Mrejesho umepokelewa."
            assert transcript["steps"][-1]["end"] is True
            assert sum(1 for s in transcript["steps"] if s.get("end")) == 1
        finally:
            await browser.close()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=NO_CHROMIUM)
async def test_an_over_long_reply_is_flagged(client) -> None:
    """The count and the warning come from the page's own GSM-7/UCS-2 rules."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=_launch_args())
        try:
            page = await browser.new_page()
            await page.goto(str(client.make_url("/simulator")))
            counts = await page.evaluate(
                r"""() => [ussdLength("a".repeat(182)), ussdLength("a".repeat(183)),
                   ussdLength("[]"), ussdLength("Karibu \u2019"),
                   ussdLength("x\u{1F600}")]"""
            )
            assert counts == [
                {"used": 182, "limit": 182, "encoding": "GSM-7"},
                {"used": 183, "limit": 182, "encoding": "GSM-7"},
                {"used": 4, "limit": 182, "encoding": "GSM-7"},
                {"used": 8, "limit": 80, "encoding": "UCS-2"},
                {"used": 3, "limit": 80, "encoding": "UCS-2"},
            ]
            await page.evaluate("() => show('x'.repeat(200), false, 12)")
            status = await page.inner_text("#status")
            assert status == "CON · 200/182 GSM-7 · 12 ms · ⚠ too long: over 182"
            assert "over" in (await page.get_attribute("#status", "class") or "")
        finally:
            await browser.close()


def test_artifacts_are_not_committed() -> None:
    assert "test-artifacts/" in (ROOT / ".gitignore").read_text().splitlines()
