"""Reload as an operator triggers it on a real ``ussd-gateway serve``: SIGHUP and ``--reload``."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import ROOT
from tests.test_cli import BIN, _free_port

V1_HOME, V2_HOME = "Karibu e-Mrejesho", "Karibu tena e-Mrejesho"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    menu: Path

    def output(self) -> str:
        return self.log.read_text()

    def edit(self, old: str, new: str) -> None:
        source = self.menu.read_text()
        assert old in source, old
        self.menu.write_text(source.replace(old, new, 1))


@dataclass
class Caller:
    """A citizen on Africa's Talking: one session, cumulative text."""

    server: Server
    number: str = "+255712000001"
    session_id: str = field(default_factory=lambda: f"ATUid_{uuid.uuid4().hex}")
    entries: list[str] = field(default_factory=list)

    def post(self) -> str:
        form = {
            "sessionId": self.session_id,
            "serviceCode": "*152*00*1#",  # the directory's 1st service: e-Mrejesho
            "phoneNumber": self.number,
            "networkCode": "64004",
            "text": "*".join(self.entries),
        }
        data = urllib.parse.urlencode(form).encode()
        with urllib.request.urlopen(self.server.url, data=data, timeout=10) as response:
            return response.read().decode()

    def send(self, entry: str) -> str:
        self.entries.append(entry)
        return self.post()


def wait_for(what: str, check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def dial_shows(server: Server, text: str) -> Callable[[], bool]:
    return lambda: text in Caller(server, number="+255712999999").post()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``ussd-gateway serve`` on a copy of the project (its config, catalogue and menus)."""
    processes: list[tuple[subprocess.Popen[bytes], IO[str]]] = []

    def start(*options: str) -> Server:
        shutil.copytree(ROOT / "config", tmp_path / "config")
        shutil.copytree(ROOT / "menus", tmp_path / "menus")
        port = _free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"REDIS_URL", "DATABASE_URL", "USSD_MENUS_DIR", "USSD_CONFIG", "PORT"}
        }
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        log_path = tmp_path / "serve.log"
        log = log_path.open("w")
        process = subprocess.Popen(
            [
                str(BIN / "ussd-gateway"),
                "--config",
                str(tmp_path / "config" / "gateway.yaml"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *options,
            ],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append((process, log))
        wait_for("the server to listen", lambda: "listening on" in log_path.read_text(), 30)
        url = f"http://127.0.0.1:{port}/ussd/africastalking"
        return Server(process, url, log_path, tmp_path / "menus" / "mrejesho.yaml")

    yield start
    for process, log in processes:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_sighup_publishes_edited_menus_and_refuses_a_broken_edit(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    early = Caller(server)
    assert V1_HOME in early.post()
    server.edit(f'sw: "{V1_HOME}"', f'sw: "{V2_HOME}"')
    assert V2_HOME not in Caller(server, number="+255712999998").post()  # not before the signal

    server.process.send_signal(signal.SIGHUP)
    wait_for("the new home screen", dial_shows(server, V2_HOME))
    assert re.search(r"reload \(SIGHUP\): .*mrejesho [0-9a-f]+ -> [0-9a-f]+", server.output())
    # the citizen who dialled before the reload is still on v1: language, Kiswahili, home
    early.send("3")
    home = early.send("1")
    assert V1_HOME in home and V2_HOME not in home, home

    server.edit("next: institution}", "next: nowhere}")
    server.process.send_signal(signal.SIGHUP)
    wait_for(
        "the refusal in the log",
        lambda: "mrejesho still on its previous version" in server.output(),
    )
    assert "kind: leads to unknown screen 'nowhere'" in server.output()
    assert dial_shows(server, V2_HOME)()
    assert server.process.poll() is None


def test_serve_reload_publishes_a_saved_file(serve: Callable[..., Server]) -> None:
    server = serve("--reload")
    assert V1_HOME in Caller(server).post()
    server.edit(f'sw: "{V1_HOME}"', f'sw: "{V2_HOME}"')
    wait_for("the new home screen", dial_shows(server, V2_HOME))
    assert re.search(r"reload \(file change\): .*mrejesho [0-9a-f]+ -> ", server.output())

    server.menu.write_text(server.menu.read_text() + "\n  broken: {type: nope}\n")
    wait_for("the refusal in the log", lambda: "unknown screen type 'nope'" in server.output())
    assert dial_shows(server, V2_HOME)()
