"""Stand-in backends (real aiohttp servers on 127.0.0.1) and helpers to drive the worker."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import project_settings
from tests.support.databases import Database
from ussd_gateway.adapters.db.models import Submission, utcnow
from ussd_gateway.adapters.outbox.queue import Clock
from ussd_gateway.adapters.outbox.senders.delivery import DeliverySender
from ussd_gateway.adapters.outbox.worker import Worker
from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.config.backends import ForwardingConfig
from ussd_gateway.domain.submissions import SubmissionDraft

FAST_RETRY = {"base_delay": 0.05, "backoff_factor": 2, "max_delay": 0.2, "jitter": 0.1}


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str:
        return self.headers.get("Idempotency-Key", "")


class StandIn:
    """A backend whose answers a test scripts: replies are used in order, then ``default``."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.default = Reply(201, {"case_number": "CASE-1"})
        self.received: list[Received] = []
        self.in_flight: dict[str, int] = {}
        self.max_in_flight_per_key = 0
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/intake"))

    def keys(self) -> list[str]:
        return [r.key for r in self.received]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        received = Received(dict(request.headers), body)
        self.received.append(received)
        key = received.key
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        self.max_in_flight_per_key = max(self.max_in_flight_per_key, self.in_flight[key])
        try:
            reply = self.script.pop(0) if self.script else self.default
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.body is None:
                return web.Response(status=reply.status, headers=reply.headers)
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        finally:
            self.in_flight[key] -= 1


@pytest.fixture
async def stand_in(aiohttp_server: Callable[..., Any]) -> StandIn:
    backend = StandIn()
    app = web.Application()
    app.router.add_post("/intake", backend.handle)
    backend.server = await aiohttp_server(app)
    return backend


def forwarding_config(
    url: str,
    *,
    retry: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    lease: float = 30.0,
    concurrency: int = 10,
    **options: Any,
) -> ForwardingConfig:
    raw = {
        "type": "http",
        "url": url,
        "timeout": 2,
        **options,
        "retry": {**FAST_RETRY, **(retry or {})},
    }
    delivery = {"poll_interval": 0.05, "lease": lease, "concurrency": concurrency}
    sections = {"backends": {"feedback": raw}, "delivery": delivery}
    return project_settings(sections=sections, env=env).forwarding


def draft(**changes: Any) -> SubmissionDraft:
    values: dict[str, Any] = {
        "idempotency_key": uuid.uuid4().hex,
        "service": "mrejesho",
        "backend": "feedback",
        "channel": "ussd",
        "language": "sw",
        "data": {"body": "Maji hayatoki wiki nzima", "institution": "dawasa"},
        "phone": "+255712345678",
        "kind": "complaint",
    }
    values.update(changes)
    return SubmissionDraft(**values)


async def submit(db: Database, count: int = 1, **changes: Any) -> list[str]:
    store = SubmissionStore(sessionmaker=db.sessionmaker)
    return [await store.submit(draft(**changes)) for _ in range(count)]


async def row(db: Database, reference: str) -> Submission:
    from sqlalchemy import select

    async with db.sessionmaker() as session:
        found = await session.scalar(select(Submission).where(Submission.reference == reference))
    assert found is not None
    return found


def delivery_worker(
    config: ForwardingConfig, sessionmaker: Any, *, clock: Clock = utcnow
) -> Worker:
    """A worker delivering through ``config``'s backends (no environment)."""
    return Worker(DeliverySender(config), sessionmaker, clock=clock)


async def run_until(
    worker: Worker[Any, Any], done: Callable[[], Any], within: float = 15.0
) -> None:
    """Run ``worker`` until ``await done()`` is true, then stop it gracefully."""
    task = asyncio.create_task(worker.run())
    deadline = time.monotonic() + within
    try:
        while not await done():
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, "worker did not get there in time"
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 20)


def statuses(db: Database) -> Callable[[], Any]:
    from ussd_gateway.adapters.outbox.ledger import DeliveryLedger

    ledger = DeliveryLedger(db.sessionmaker)
    return ledger.counts
