"""The commands as a new user runs them: a real server process and the emulator against it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.serve import BIN, free_port


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``ussd-gateway serve`` on embedded defaults (in-process sessions, a SQLite file)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    # Backends on a port nobody listens on: a demo-backend another process left on the default
    # port would otherwise move the status from "received" to "delivered" mid-test.
    closed = f"http://127.0.0.1:{free_port()}"
    env["BACKEND_FEEDBACK_URL"] = f"{closed}/feedback"
    env["BACKEND_MEETINGS_URL"] = f"{closed}/meetings"
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "ussd-gateway"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if process.poll() is not None:
                pytest.fail((tmp_path / "serve.log").read_text())
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}/ussd/africastalking"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_emulator_script_reaches_a_reference_and_tracks_it(server: str) -> None:
    give = _run(
        str(BIN / "ussd-emulator"),
        "--url",
        server,
        "--no-color",
        "--script",
        "1,1,1,1,Umeme umekatika siku tatu * hakuna taarifa,2,1",  # directory: 1. e-Mrejesho
    )
    assert give.returncode == 0, give.stderr
    assert "Karibu e-Mrejesho" in give.stdout
    match = re.search(r"Namba ya kumbukumbu:\s*│?\s*│?\s*([2-9A-Z]{8})", give.stdout)
    assert match, give.stdout
    track = _run(
        str(BIN / "ussd-emulator"),
        "--url",
        server,
        "--no-color",
        "--script",
        f"1,2,{match.group(1)}",
    )
    assert track.returncode == 0, track.stderr
    assert "Namba ya kumbukumbu" in track.stdout and f"{match.group(1)} (" in track.stdout
    assert "Imepokelewa" in track.stdout


def test_validate_accepts_the_shipped_menus() -> None:
    result = _run(str(BIN / "ussd-gateway"), "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_validate_names_file_line_screen_and_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    source = (ROOT / "menus" / "mrejesho.yaml").read_text()
    source = source.replace("next: institution}", "next: instituion}", 1)
    source = source.replace('en: "Choose language"}', 'xx: "Choose language"}')
    broken.write_text(source)
    result = _run(str(BIN / "ussd-gateway"), "validate", str(broken))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(
        re.fullmatch(
            rf"{re.escape(str(broken))}:\d+: kind: leads to unknown screen 'instituion'", x
        )
        for x in lines
    ), lines
    assert any(": language: 'text' has no text in en" in x for x in lines), lines


def test_serve_refuses_to_start_on_a_broken_menu(tmp_path: Path) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / "bad.yaml").write_text(
        "service: bad\nlanguages: [sw]\nstart: a\nscreens:\n  a: {type: nope}\n"
    )
    env = dict(os.environ, USSD_MENUS_DIR=str(menus), PORT=str(free_port()))
    result = _run(str(BIN / "ussd-gateway"), "serve", env=env, timeout=30)
    assert result.returncode == 1
    assert f"{menus / 'bad.yaml'}:5: a: unknown screen type 'nope'" in result.stderr


def test_serve_explains_an_unreachable_database_in_one_line(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none",
        PORT=str(free_port()),
    )
    result = _run(str(BIN / "ussd-gateway"), "serve", env=env, timeout=60)
    assert result.returncode == 1
    assert "cannot start: database postgresql+asyncpg://nobody@127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr


def test_gateway_emulate_is_the_emulator(server: str) -> None:
    result = _run(
        str(BIN / "ussd-gateway"), "emulate", "--url", server, "--no-color", "--script", "1,3,2"
    )
    assert result.returncode == 0, result.stderr
    assert "Welcome to e-Mrejesho" in result.stdout


def _serve_until_listening(tmp_path: Path, env_extra: dict[str, str]) -> str:
    """Start ``serve`` with no ``--host``, wait for its ready line, stop it; its output."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "HOST", "ENV"}}
    env |= {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", **env_extra}
    log_path = tmp_path / f"serve-{len(list(tmp_path.glob('serve-*')))}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "ussd-gateway"), "serve", "--no-worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while "listening on" not in log_path.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(log_path.read_text())
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(timeout=10)
    return log_path.read_text()


def test_serve_listens_on_this_machine_only_unless_told(tmp_path: Path) -> None:
    port = free_port()
    quiet = _serve_until_listening(tmp_path, {"PORT": str(port)})
    assert f"listening on http://127.0.0.1:{port} " in quiet
    assert "simulator is on" not in quiet
    # every interface, as the Procfile asks: the simulator's exposure is said loudly
    port = free_port()
    exposed = _serve_until_listening(tmp_path, {"PORT": str(port), "HOST": "0.0.0.0"})
    assert f"listening on http://0.0.0.0:{port} " in exposed
    assert "the browser simulator is on and 0.0.0.0 is open to other machines" in exposed
    production = _serve_until_listening(
        tmp_path, {"PORT": str(free_port()), "HOST": "0.0.0.0", "ENV": "production"}
    )
    assert "simulator is on" not in production


def test_the_procfile_opens_the_web_process_to_the_network() -> None:
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line[:4] == "web:")
    assert web.split(":", 1)[1].split() == ["ussd-gateway", "serve", "--host", "0.0.0.0"]
