"""The README's end-to-end demo, run as written: every shipped service's submission arrives.

The commands are read from the README itself (only ports and the project path change), so the
README cannot drift from what works: a newcomer who follows it sees each submission
``delivered``, and the status the institution reports on the track screen.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serve import BIN, ROOT, free_port, wait_for

README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("### See a submission travel end to end\n", 1)[1].split("\n## ", 1)[0]


def commands() -> list[str]:
    """Every command of the section's ``sh`` blocks, comments and example output left out."""
    found: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", SECTION, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            if line and not line.startswith("#"):
                found.append(line)
    return found


def one(prefix: str) -> list[str]:
    return [c for c in commands() if c.startswith(prefix)]


class Demo:
    """The README's terminals, in a copy of the project so its ``var/`` stays untouched."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        for part in ("config", "menus"):
            shutil.copytree(ROOT / part, workdir / part)
        self.backend_port, self.gateway_port = free_port(), free_port()
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BACKEND_", "DATABASE_", "REDIS_", "AT_", "USSD_", "PORT"))
        }
        [export] = set(one("export "))
        name, value = export.removeprefix("export ").split("=", 1)
        self.env = {
            **clean,
            name: value,
            "PORT": str(self.gateway_port),  # the README's 8080, free here
            "USSD_EMULATOR_URL": f"http://127.0.0.1:{self.gateway_port}/ussd/africastalking",
            # config/gateway.yaml points both at the README's demo backend on 8090
            "BACKEND_FEEDBACK_URL": f"http://127.0.0.1:{self.backend_port}/feedback",
            "BACKEND_MEETINGS_URL": f"http://127.0.0.1:{self.backend_port}/meetings",
            "BACKEND_BILLS_URL": f"http://127.0.0.1:{self.backend_port}/bills",
            "BACKEND_BILL_NOTICES_URL": f"http://127.0.0.1:{self.backend_port}/bill_notices",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def argv(self, command: str) -> list[str]:
        command = command.replace("8090", str(self.backend_port))
        argv = shlex.split(command)
        if argv[0].startswith(".venv/bin/"):
            argv[0] = str(BIN / argv[0].removeprefix(".venv/bin/"))
        return argv

    def start(self, command: str, ready: str) -> None:
        log = self.workdir / f"{len(self.processes)}.log"
        process = subprocess.Popen(
            self.argv(command),
            cwd=self.workdir,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)

        def started() -> bool:
            assert process.poll() is None, log.read_text()
            return ready in log.read_text()

        wait_for(command, started, 30)

    def run(self, command: str) -> str:
        if command.startswith("curl "):
            return self.curl(self.argv(command))
        result = subprocess.run(
            self.argv(command),
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        return result.stdout

    @staticmethod
    def curl(argv: list[str]) -> str:
        """The README's ``curl -s [-X POST] URL [-d BODY]``, without needing curl installed."""
        url = next(a for a in argv if a.startswith("127.0.0.1"))
        data = argv[argv.index("-d") + 1].encode() if "-d" in argv else None
        request = urllib.request.Request(
            f"http://{url}", data=data, method="POST" if data else "GET"
        )
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.read().decode()

    def submissions(self) -> list[dict[str, object]]:
        return json.loads(self.run(".venv/bin/ussd-gateway submissions list --json"))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def test_the_readme_demo_delivers_every_shipped_service_and_brings_the_status_back(
    demo: Demo,
) -> None:
    [backend] = one(".venv/bin/ussd-gateway demo-backend")
    [serve] = one(".venv/bin/ussd-gateway serve")
    [track] = one('.venv/bin/ussd-emulator --script "1,2,')
    citizens = [c for c in one(".venv/bin/ussd-emulator --") if c != track]
    [bill] = [c for c in citizens if "*152*00*3#" in c]
    citizens.remove(bill)
    assert len(citizens) == 2
    demo.start(backend, "demo backend on")
    demo.start(serve, "listening on")
    for citizen in citizens:
        assert "Namba ya" in demo.run(citizen)
    # the bill comes from the demo backend during the hop
    checked = demo.run(bill)
    assert "Mlipaji: Asha Juma Mwinyi" in checked and "Kiasi: TZS 150000" in checked, checked
    assert "yatatumwa kwa" in checked  # the request for payment instructions is filed

    def all_delivered() -> bool:
        return {s["status"] for s in demo.submissions()} == {"delivered"}

    wait_for("every submission to be delivered", all_delivered, 30)
    by_service = {s["service"]: s for s in demo.submissions()}
    assert set(by_service) == {"mrejesho", "egov_meeting", "bills"}  # every shipped service
    assert json.loads(demo.run("curl -s 127.0.0.1:8090/stats"))["received"] == 3

    # the institution resolves the feedback case; the citizen sees it when tracking
    reference = str(by_service["mrejesho"]["reference"])
    cases = json.loads(demo.run("curl -s 127.0.0.1:8090/cases"))
    [case] = [c["case_number"] for c in cases if c["reference"] == reference]
    [report] = one("curl -s -X POST")
    report = re.sub(r"CASE-\d{6}", case, report)
    assert json.loads(demo.run(report))["gateway_status"] == 200
    shown = demo.run(re.sub(r"1,2,[A-Z0-9]{8}", f"1,2,{reference}", track))
    assert "Risiti imetumwa kwa SMS" in shown
