"""Draws docs/simulator.png: the browser simulator at e-Mrejesho's reference screen.

Run from the project directory, after changing the simulator or the menus it walks through:
``.venv/bin/python docs/simulator_screenshot.py`` (needs Debian's chromium, as the simulator's
tests do; ``CHROMIUM_BIN`` points elsewhere). A real ``ussd-gateway serve`` on a free port and
a scratch database, so the picture is what a tester sees.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "simulator.png"
CHROMIUM = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"
MESSAGE = "Nimesubiri kitambulisho changu miezi sita bila majibu"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def walk(page: Page) -> None:
    """The README's journey, by the keypad: directory, e-Mrejesho, a complaint, anonymous."""

    async def until(expected: str) -> None:
        await page.wait_for_function(
            "text => document.getElementById('screen').textContent.includes(text)", arg=expected
        )

    async def press(keys: str, expected: str) -> None:
        for key in keys:
            await page.click(f'.keypad button[data-key="{key}"]')
        await page.click("#dial")
        await until(expected)

    await page.wait_for_function("document.querySelectorAll('#code option').length > 0")
    await page.fill("#phone", "+255700000042")
    await page.select_option("#language", "sw")
    await page.click("#dial")
    await until("Huduma za Serikali")
    await press("1", "Karibu e-Mrejesho")
    await press("1", "Aina ya mrejesho")
    await press("1", "Chagua taasisi")
    await press("98", "MoH")
    await press("2", "Andika ujumbe wako")
    await page.fill("#entry", MESSAGE)
    await page.click("#dial")
    await until("Ungependa kujitambulisha?")
    await press("2", "Tuma kwa")
    await press("1", "Namba ya kumbukumbu")


async def draw(url: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 760})
            await page.goto(url)
            await walk(page)
            await page.screenshot(path=str(OUTPUT))
        finally:
            await browser.close()


def main() -> int:
    port = free_port()
    closed = f"http://127.0.0.1:{free_port()}"  # no backend: the picture needs none
    with tempfile.TemporaryDirectory(prefix="ussd-screenshot-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "ENV", "HOST"}},
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/gateway.db",
            "BACKEND_FEEDBACK_URL": f"{closed}/feedback",
            "BACKEND_MEETINGS_URL": f"{closed}/meetings",
        }
        log = Path(tmp) / "serve.log"
        gateway = str(Path(sys.executable).parent / "ussd-gateway")
        with log.open("w") as out:
            server = subprocess.Popen(
                [gateway, "serve", "--port", str(port), "--no-worker"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + 30
                while "listening on" not in log.read_text():
                    if server.poll() is not None or time.monotonic() > deadline:
                        print(log.read_text(), file=sys.stderr)
                        return 1
                    time.sleep(0.1)
                asyncio.run(draw(f"http://127.0.0.1:{port}/simulator"))
            finally:
                server.terminate()
                server.wait(timeout=10)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
