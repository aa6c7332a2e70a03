"""The shipped HAProxy example (deploy/haproxy.cfg) in front of two real gateway processes on
one Redis and one PostgreSQL database: journeys through the balancer complete, and one process
stopped mid-run loses no submission."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.sessions.test_topologies import _journey
from tests.support.databases import TEST_DATABASE_URL_ENV, _postgresql_database
from tests.support.serve import ROOT, ServeProcesses, Server, free_port, wait_for
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission

CONFIG = ROOT / "deploy" / "haproxy.cfg"


@pytest.fixture
async def postgresql() -> AsyncIterator[str]:
    server_url = os.environ.get(TEST_DATABASE_URL_ENV)
    if not server_url:
        pytest.skip(f"two gateway processes share one PostgreSQL database: {TEST_DATABASE_URL_ENV}")
    async for url in _postgresql_database(server_url):
        yield url


class Balancer:
    """HAProxy on the shipped configuration, its listen and server addresses moved to ours."""

    def __init__(self, workdir: Path, servers: list[Server]) -> None:
        binary = shutil.which("haproxy") or (
            "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
        )
        if binary is None:
            pytest.fail("haproxy (Debian's package) is needed: .ci/run installs it")
        self.port = free_port()
        text = CONFIG.read_text().replace("bind 127.0.0.1:8080", f"bind 127.0.0.1:{self.port}")
        for n, server in enumerate(servers, 1):
            address = server.url.split("//")[1].split("/")[0]
            text = text.replace(f"127.0.0.1:808{n} check", f"{address} check")
        config = workdir / "haproxy.cfg"
        config.write_text(text)
        self.log = (workdir / "haproxy.log").open("wb")
        self.process = subprocess.Popen(
            [binary, "-db", "-f", str(config)], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.port}/ussd/africastalking"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def balanced(
    tmp_path: Path, redis_url: str, postgresql: str
) -> Iterator[tuple[Balancer, list[Server]]]:
    processes = ServeProcesses(tmp_path / "project")
    env = {"REDIS_URL": redis_url, "DATABASE_URL": postgresql}
    servers = [processes.start(env=env, name=f"serve{n}") for n in (1, 2)]
    balancer = Balancer(tmp_path, servers)
    yield balancer, servers
    balancer.stop()
    processes.stop_all()


def _through(balancer: Balancer) -> list[Server]:
    """Both 'servers' of ``_journey`` are the balancer: it alone picks the process."""
    front = Server(balancer.process, balancer.url, Path(), Path())  # type: ignore[arg-type]
    return [front, front]


async def _stored(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return set((await connection.scalars(select(Submission.reference))).all())
    finally:
        await engine.dispose()


def _answers(balancer: Balancer) -> bool:
    try:
        return _journey(_through(balancer), 0)[0] is not None
    except OSError:  # not listening yet, or no process passed its check yet
        return False


async def test_journeys_through_haproxy_complete_and_a_stopped_process_loses_nothing(
    balanced: tuple[Balancer, list[Server]], postgresql: str
) -> None:
    balancer, servers = balanced
    front = _through(balancer)
    wait_for("the balancer", lambda: _answers(balancer), 15)
    references = []
    stopped = False
    for n in range(1, 41):
        if n == 20:  # one process stops mid-run, as in a rolling restart
            servers[0].process.terminate()
            stopped = True
        reference, statuses = await asyncio.to_thread(_journey, front, n)
        assert set(statuses) == {200}, (n, statuses)
        assert reference is not None and re.fullmatch(r"[2-9A-Z]{8}", reference), (n, statuses)
        references.append(reference)
    assert stopped and servers[0].process.wait(timeout=10) is not None
    assert len(set(references)) == 40
    # every reference a citizen was shown is a stored submission
    assert set(references) <= await _stored(postgresql)
