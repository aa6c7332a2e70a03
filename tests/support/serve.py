"""A real ``ussd-gateway serve`` process on a copy of the project, for tests over HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


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


class ServeProcesses:
    """Starts servers in ``workdir`` (its config and menus copied from the project unless the
    test already put them there) and stops them all at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._running: list[tuple[subprocess.Popen[bytes], IO[str]]] = []

    def start(
        self, *options: str, env: Mapping[str, str] | None = None, name: str = "serve"
    ) -> Server:
        """``env`` adds to (or replaces) the process's environment; ``name`` names its log."""
        for part in ("config", "menus"):
            if not (self.workdir / part).exists():
                shutil.copytree(ROOT / part, self.workdir / part)
        port = free_port()
        environment = {
            k: v
            for k, v in os.environ.items()
            if k not in {"REDIS_URL", "DATABASE_URL", "USSD_MENUS_DIR", "USSD_CONFIG", "PORT"}
        }
        environment["DATABASE_URL"] = f"sqlite+aiosqlite:///{self.workdir / 'gateway.db'}"
        environment.update(env or {})
        log_path = self.workdir / f"{name}.log"
        log = log_path.open("w")
        process = subprocess.Popen(
            [
                str(BIN / "ussd-gateway"),
                "--config",
                str(self.workdir / "config" / "gateway.yaml"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *options,
            ],
            cwd=self.workdir,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._running.append((process, log))

        def listening() -> bool:
            assert process.poll() is None, log_path.read_text()
            return "listening on" in log_path.read_text()

        wait_for("the server to listen", listening, 30)
        url = f"http://127.0.0.1:{port}/ussd/africastalking"
        return Server(process, url, log_path, self.workdir / "menus" / "mrejesho.yaml")

    def stop_all(self) -> None:
        for process, log in self._running:
            process.terminate()
            process.wait(timeout=10)
            log.close()


async def start_worker(
    config: Path, database_url: str, log: Path, env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    """``ussd-gateway worker`` on ``config``, with none of this shell's backend, database or
    Africa's Talking settings: only ``database_url`` and ``env``."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("BACKEND_", "DATABASE_", "AT_"))
    }
    return await asyncio.create_subprocess_exec(
        str(BIN / "ussd-gateway"),
        "--config",
        str(config),
        "worker",
        cwd=ROOT,
        env={**clean, **(env or {}), "DATABASE_URL": database_url},
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
    )
