"""``ussd-gateway serve`` on the embedded default reaches nothing beyond this machine.

"Nothing else is needed" must hold: with no environment at all, the SMS receipt stays in the
local outbox and the absent demo backend is reported once, calmly. Every ``connect()`` the
server and its workers make is traced with ``strace`` (a real guard on the real process, not a
patched socket module), and none may leave loopback or look a name up.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.serve import BIN, ROOT, free_port, wait_for

STRACE = shutil.which("strace")
IDLE = 60.0
"""Seconds the server is left alone after the journey: workers poll many times meanwhile."""

LOOPBACK = re.compile(r'sin_addr=inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|sun_path=')
CONNECT = re.compile(r"connect\(\d+, \{sa_family=(AF_INET6?|AF_UNIX)[^}]*\}")


def outside(trace: str) -> list[str]:
    """Every connect() not to loopback or a local socket, and every one to a DNS port."""
    calls = [m.group(0) for m in CONNECT.finditer(trace)]
    return [c for c in calls if not LOOPBACK.search(c) or "htons(53)" in c]


@pytest.mark.skipif(STRACE is None, reason="needs strace (.ci/run installs it)")
def test_serve_on_defaults_makes_no_outbound_connection_and_logs_no_error(
    tmp_path: Path,
) -> None:
    for part in ("config", "menus"):
        shutil.copytree(ROOT / part, tmp_path / part)
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BACKEND_", "DATABASE_", "REDIS_", "AT_", "USSD_", "PORT"))
    }
    trace, log = tmp_path / "connect.trace", tmp_path / "serve.log"
    process = subprocess.Popen(
        [STRACE, "-f", "-qq", "-e", "trace=connect", "-o", str(trace),
         str(BIN / "ussd-gateway"), "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for("serve", lambda: "listening on" in log.read_text(), 60)
        url = f"http://127.0.0.1:{port}/ussd/africastalking"
        entries = ["1", "1", "1", "1", "Umeme umekatika siku tatu mtaani kwetu", "1", "Amina", "1"]
        for n in range(len(entries) + 1):
            form = {
                "sessionId": "offline-1",
                "serviceCode": "*152*00#",
                "phoneNumber": "+255712000777",
                "text": "*".join(entries[:n]),
            }
            data = urllib.parse.urlencode(form).encode()
            with urllib.request.urlopen(url, data=data, timeout=10) as reply:
                screen = reply.read().decode()
        assert "Namba ya kumbukumbu" in screen
        time.sleep(IDLE)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # strace and the server it traces
        process.wait(timeout=30)
    traced = trace.read_text()
    assert "htons(8090)" in traced  # the guard saw the (local) demo backend being tried
    assert outside(traced) == []
    lines = log.read_text().splitlines()
    assert not [line for line in lines if " ERROR " in line or "Traceback" in line], lines
    failing = [line for line in lines if "backend feedback is failing" in line]
    assert len(failing) == 1, lines  # the absent demo backend: said once
    listing = subprocess.run(
        [str(BIN / "ussd-gateway"), "sms", "list", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    [receipt] = json.loads(listing.stdout)
    assert (receipt["status"], receipt["provider_status"]) == ("sent", "kept locally")
    assert receipt["to"] == "+2557*****777" and "Namba ya kumbukumbu" in receipt["text"]


def test_the_guard_sees_a_connection_out() -> None:
    """The guard itself: an outbound connect() in a trace is found, loopback is not."""
    trace = (
        '123 connect(7, {sa_family=AF_INET, sin_port=htons(8090), sin_addr=inet_addr("127.0.0.1")}'
        ", 16) = -1 ECONNREFUSED\n"
        '124 connect(8, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("52.1.2.3")}'
        ", 16) = 0\n"
        '125 connect(9, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}'
        ", 16) = 0\n"
    )
    assert [c.split("htons(")[1][:3] for c in outside(trace)] == ["443", "53)"]
