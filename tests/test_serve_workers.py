"""``ussd-gateway serve --workers N``: real processes sharing a port, on a real Redis."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.serve import BIN, free_port


def _serve_two(port: int) -> list[str]:
    gateway = str(BIN / "ussd-gateway")
    return [gateway, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def _wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _post(url: str, session_id: str, text: str) -> str:
    form = {
        "sessionId": session_id,
        "serviceCode": "*152*00*1#",  # the directory's 1st service: e-Mrejesho
        "phoneNumber": "+255712000111",
        "networkCode": "64004",
        "text": text,
    }
    body = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(url, data=body, timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


@pytest.fixture
def workers(tmp_path: Path, redis_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = dict(
        os.environ,
        REDIS_URL=redis_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        LOG_LEVEL="WARNING",
        TMPDIR=str(tmp_path),  # the metrics directory of a killed server stays in tmp_path
    )
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        _serve_two(port),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            pytest.fail((tmp_path / "serve.log").read_text())
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=0.5) as response:
                return response.status == 200
        except OSError:
            return False

    _wait_until(healthy, 30, "the server to answer")
    try:
        yield process, url + "/ussd/africastalking"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()


def test_two_workers_answer_a_whole_journey_and_stop_on_sigterm(workers) -> None:
    process, url = workers
    children = _children(process.pid)
    assert len(children) == 2, children
    session = "ATUid_workers_1"
    entries = ["1", "1", "1", "Maji hayatoki kijijini wiki nzima", "2", "1"]
    assert _post(url, session, "").startswith("CON Karibu e-Mrejesho")
    reply = ""
    for n in range(1, len(entries) + 1):
        reply = _post(url, session, "*".join(entries[:n]))
    assert reply.startswith("END "), reply
    assert re.search(r"Namba ya kumbukumbu: [2-9A-Z]{8}", reply), reply

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    _wait_until(lambda: not any(_alive(pid) for pid in children), 10, "the workers to exit")


def test_a_worker_that_dies_is_replaced(workers) -> None:
    process, url = workers
    before = _children(process.pid)
    time.sleep(5.5)  # past the start-up grace: a death now is a crash, not a failed start
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    _wait_until(lambda: len(_children(process.pid) - {victim}) == 2, 15, "a replacement worker")
    assert _post(url, "ATUid_workers_2", "").startswith("CON Karibu e-Mrejesho")
    assert process.poll() is None


def test_in_process_store_refuses_more_than_one_worker(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    env["PORT"] = str(free_port())
    result = subprocess.run(
        [str(BIN / "ussd-gateway"), "serve", "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("--workers 2 needs REDIS_URL: the in-process session store")
    assert "Traceback" not in result.stderr


def test_port_taken_is_one_clear_line(tmp_path: Path, redis_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dict(
            os.environ,
            REDIS_URL=redis_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        )
        result = subprocess.run(
            _serve_two(port),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_metrics_add_up_across_workers(workers) -> None:
    """Each scrape reaches one child; every scrape must still count every child's hops."""
    _, url = workers
    for n in range(12):
        assert _post(url, f"ATUid_metrics_{n}", "").startswith("CON ")
    base = url.removesuffix("/ussd/africastalking")
    for _ in range(6):
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            body = response.read().decode()
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.splitlines()
            if line.startswith("ussd_hops_total{")
        )
        assert counted == 12, body
