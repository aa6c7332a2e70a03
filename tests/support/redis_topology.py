"""Real replicated Redis topologies started by the tests on loopback ports: a Redis Cluster
(primaries with one replica each) and a Sentinel-watched primary with a replica.

Both are Debian's ``redis-server`` binary (``--cluster-enabled yes``, ``--sentinel``) and
``redis-cli --cluster create``; timeouts are short so a failover takes a second or two.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.redis_server import _binary, _command
from tests.support.serve import free_port

NODE_TIMEOUT_MS = 1000
"""A cluster node silent this long is failed over (the cluster's ``cluster-node-timeout``)."""
DOWN_AFTER_MS = 500
"""A primary silent this long is failed over by Sentinel (``down-after-milliseconds``)."""


def _until(what: str, check: Callable[[], bool], timeout: float = 20.0) -> float:
    """Seconds it took ``check`` to hold."""
    started = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too and exists."""
    while True:
        port = random.randrange(20000, 40000)
        if all(_free(p) for p in (port, port + 10000)):
            return port


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def info(port: int, *command: str) -> str:
    """A command's reply as text (bulk replies are read whole)."""
    return _command(port, *command).decode(errors="replace")


class _Processes:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.binary = _binary()
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def _start(self, port: int, *options: str, name: str | None = None) -> None:
        folder = self.workdir / (name or str(port))
        folder.mkdir(parents=True, exist_ok=True)
        log = (folder / "redis.log").open("ab")
        self.processes[port] = subprocess.Popen(
            [
                self.binary,
                *options,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        _until(f"redis on {port}", lambda: _command(port, "PING").startswith(b"+PONG"), 10)

    def kill(self, port: int) -> None:
        """SIGKILL: a crash, not a shutdown."""
        process = self.processes[port]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


class Cluster(_Processes):
    """``primaries`` primaries with one replica each, all slots assigned."""

    def __init__(self, workdir: Path, primaries: int = 3) -> None:
        super().__init__(workdir)
        try:
            self._create(primaries)
        except BaseException:  # nothing left running when start-up fails
            self.stop()
            raise

    def _create(self, primaries: int) -> None:
        self.ports = [_cluster_port() for _ in range(primaries * 2)]
        for port in self.ports:
            self._start(
                port,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
            )
        cli = shutil.which("redis-cli")
        if cli is None:
            pytest.fail("redis-cli (Debian's redis-tools) is needed to create a cluster")
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in self.ports),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        _until("the cluster to be ok", self.ok, 30)
        _until("the primaries to be known", lambda: len(self.primaries()) == primaries, 30)
        _until("every replica to sync", self._replicas_synced, 30)

    def _replicas_synced(self) -> bool:
        """A replica whose link never came up cannot be promoted."""
        replicas = [p for p in self.ports if p not in self.primaries()]
        return all("master_link_status:up" in info(p, "INFO", "replication") for p in replicas)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:2])

    def ok(self) -> bool:
        alive = [p for p, proc in self.processes.items() if proc.poll() is None]
        return all("cluster_state:ok" in info(p, "CLUSTER", "INFO") for p in alive)

    def primaries(self) -> list[int]:
        """Ports of the live primaries, from the nodes' own view."""
        found = []
        for port, process in self.processes.items():
            if process.poll() is None and "role:master" in info(port, "INFO", "replication"):
                found.append(port)
        return found

    def fail_primary(self, victim: int | None = None) -> tuple[int, float]:
        """Kill a primary (``victim``, or any); its port and the seconds until a replica took
        over its slots."""
        victim = victim or self.primaries()[0]
        before = set(self.primaries())
        self.kill(victim)

        def promoted() -> bool:
            now = set(self.primaries())
            return len(now - before) == 1 and self.ok()

        return victim, _until("a replica to take over", promoted, 30)


class Sentinel(_Processes):
    """A primary, its replica and one Sentinel (quorum 1) watching them as ``service``."""

    def __init__(self, workdir: Path, service: str = "gateway") -> None:
        super().__init__(workdir)
        self.service = service
        self.primary = free_port()
        self.replica = free_port()
        self.sentinel = free_port()
        try:
            self._create(workdir, service)
        except BaseException:  # nothing left running when start-up fails
            self.stop()
            raise

    def _create(self, workdir: Path, service: str) -> None:
        self._start(self.primary)
        self._start(self.replica, "--replicaof", "127.0.0.1", str(self.primary))
        _until("the replica to sync", lambda: "master_link_status:up" in self._replication(), 20)
        config = workdir / "sentinel.conf"
        config.write_text(
            f"sentinel monitor {service} 127.0.0.1 {self.primary} 1\n"
            f"sentinel down-after-milliseconds {service} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {service} 5000\n"
            f"sentinel parallel-syncs {service} 1\n"
        )
        self._start(self.sentinel, str(config), "--sentinel", name="sentinel")
        _until("Sentinel to know the replica", lambda: self._replicas_known() > 0, 20)

    def _replication(self) -> str:
        return info(self.replica, "INFO", "replication")

    def _replicas_known(self) -> int:
        reply = info(self.sentinel, "SENTINEL", "REPLICAS", self.service)
        return reply.count("master-link-status")  # one field per replica known

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel}/{self.service}/0"

    def named_primary(self) -> int:
        reply = info(self.sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
        return int(reply.split("\r\n")[-2])

    def fail_primary(self) -> float:
        """Kill the primary; the seconds until Sentinel names the replica instead."""
        self.kill(self.primary)
        seconds = _until(
            "Sentinel to promote the replica", lambda: self.named_primary() == self.replica, 30
        )
        _until(
            "the replica to act as primary",
            lambda: "role:master" in info(self.replica, "INFO", "replication"),
            10,
        )
        return seconds
