"""Pytest plugin: a real ``redis-server`` started by the tests, never a fake.

Fixtures:
- ``redis_server`` (session): a running server with ``.url``, ``.port``, ``.stop()``, ``.start()``.
- ``redis_url`` (function): the shared server's URL after FLUSHALL, restarted if a test stopped it.
- ``isolated_redis_server`` (function): a private server a test may kill without affecting others.

Set ``REDIS_SERVER_BIN`` to use a binary that is not on PATH.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serve import free_port

_START_TIMEOUT = 10.0


def _command(port: int, *command: str, timeout: float = 1.0) -> bytes:
    """Send one inline command and return the raw reply (no client library involved)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(" ".join(command).encode() + b"\r\n")
        return sock.recv(1024)


def _binary() -> str:
    name = os.environ.get("REDIS_SERVER_BIN", "redis-server")
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name!r} was not found on PATH. The session store tests need a real Redis server: "
            "install it (e.g. `apt-get install redis-server`) or set REDIS_SERVER_BIN.",
            pytrace=False,
        )
    return path


class RedisServer:
    """One ``redis-server`` process on a fixed port, which tests may stop and start again."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.binary = _binary()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis.log"

    def start(self) -> None:
        """Start the server (same port as before) and wait until it answers PING."""
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.workdir),
                    "--daemonize", "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._fail(f"redis-server exited with code {self._process.returncode}")
            try:
                if _command(self.port, "PING").startswith(b"+PONG"):
                    return
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        self._fail(f"redis-server did not answer PING within {_START_TIMEOUT}s")

    def stop(self) -> None:
        """Kill the server, as an outage would; data is lost (nothing is persisted)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def flushall(self) -> None:
        reply = _command(self.port, "FLUSHALL")
        assert reply.startswith(b"+OK"), reply

    def _fail(self, reason: str) -> None:
        log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        pytest.fail(f"{reason} (port {self.port}). Log tail:\n{log}", pytrace=False)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.start()  # a no-op unless an earlier test left it stopped
    redis_server.flushall()
    return redis_server.url


@pytest.fixture
def isolated_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
