"""Real ``ussd-gateway worker`` processes: killed mid-delivery, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from tests.forwarding.conftest import row, submit
from tests.support.databases import Database
from tests.support.serve import start_worker
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger


class HoldingBackend:
    """Holds the first request it gets (as a backend hanging mid-delivery); dedups by key."""

    def __init__(self) -> None:
        self.cases: dict[str, str] = {}
        self.seen: set[str] = set()
        self.requests = 0
        self.duplicates = 0
        self.first_arrived = asyncio.Event()
        self.hold = True

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        key = request.headers["Idempotency-Key"]
        self.requests += 1
        if key in self.seen:
            self.duplicates += 1
        self.seen.add(key)
        if self.hold:
            self.hold = False
            self.first_arrived.set()
            await asyncio.sleep(60)
        self.cases.setdefault(key, f"CASE-{len(self.cases) + 1}")
        return web.json_response({"case_number": self.cases[key]}, status=201)


@pytest.fixture
async def holding(aiohttp_server: Callable[..., Any]) -> tuple[HoldingBackend, str]:
    backend = HoldingBackend()
    app = web.Application()
    app.router.add_post("/intake", backend.handle)
    server = await aiohttp_server(app)
    return backend, str(server.make_url("/intake"))


def write_config(tmp_path: Path, url: str, **delivery: Any) -> Path:
    config = {
        "backends": {
            "feedback": {
                "type": "http",
                "url": url,
                "timeout": 1,
                "retry": {"base_delay": 0.1, "max_delay": 0.5},
            }
        },
        "delivery": {"poll_interval": 0.1, "lease": 2, **delivery},
    }
    path = tmp_path / "config" / "gateway.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


async def wait_for_status(db: Database, count: int, status: str, within: float) -> None:
    ledger = DeliveryLedger(db.sessionmaker)
    for _ in range(int(within / 0.1)):
        if (await ledger.counts()).get(status, 0) == count:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"not {count} {status} after {within}s: {await ledger.counts()}")


async def test_worker_killed_mid_delivery_delivers_after_restart(
    db: Database, holding: tuple[HoldingBackend, str], tmp_path: Path
):
    backend, url = holding
    references = await submit(db, 3)
    config = write_config(tmp_path, url)
    log = tmp_path / "worker.log"

    first = await start_worker(config, db.url, log)
    await asyncio.wait_for(backend.first_arrived.wait(), 30)
    first.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    held = [r for r in references if (await row(db, r)).status == "pending"]
    assert held, "the held delivery must still be pending"
    assert all([(await row(db, r)).locked_by for r in held])

    second = await start_worker(config, db.url, log)
    try:
        await wait_for_status(db, 3, "delivered", within=30)
    finally:
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 20) == 0, log.read_text()
    assert sorted(backend.cases) == sorted(references)  # every one arrived, none doubled
    assert backend.duplicates == backend.requests - 3 >= 1
    for reference in references:
        assert (await row(db, reference)).remote_id == backend.cases[reference]


async def test_sigterm_releases_what_it_holds_and_exits_cleanly(
    db: Database, holding: tuple[HoldingBackend, str], tmp_path: Path
):
    backend, url = holding
    (reference,) = await submit(db)
    config = write_config(tmp_path, url, shutdown_grace=0.3, lease=60)
    log = tmp_path / "worker.log"
    worker = await start_worker(config, db.url, log)
    await asyncio.wait_for(backend.first_arrived.wait(), 30)
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(worker.wait(), 10) == 0, log.read_text()
    released = await row(db, reference)
    assert released.status == "pending" and released.locked_by is None
    assert released.attempts == 0
    assert "released 1 lease(s)" in log.read_text()
