"""The delivery worker on real databases against a real stand-in backend."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select, update

from tests.forwarding.conftest import (
    Reply,
    StandIn,
    forwarding_config,
    row,
    run_until,
    statuses,
    submit,
)
from tests.support.databases import Database
from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.models import DeliveryAttempt, Submission, utcnow
from ussd_gateway.adapters.outbox.delivery_worker import DeliveryWorker
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger


async def attempts_of(db: Database, reference: str) -> list[DeliveryAttempt]:
    async with db.sessionmaker() as session:
        found = await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.reference == reference)
            .order_by(DeliveryAttempt.id)
        )
        return list(found.all())


def until(db: Database, **wanted: int):
    counts = statuses(db)

    async def check() -> bool:
        got = await counts()
        return all(got.get(status, 0) == n for status, n in wanted.items())

    return check


async def test_server_errors_then_success_delivers_once(db: Database, stand_in: StandIn):
    stand_in.script += [Reply(500, {"error": "x"}), Reply(502), Reply(503)]
    (reference,) = await submit(db)
    worker = DeliveryWorker(forwarding_config(stand_in.url), db.sessionmaker)
    await run_until(worker, until(db, delivered=1))

    assert stand_in.keys() == [reference] * 4
    history = await attempts_of(db, reference)
    assert [(a.attempt, a.status_code, a.outcome) for a in history] == [
        (1, 500, "retry"),
        (2, 502, "retry"),
        (3, 503, "retry"),
        (4, 201, "delivered"),
    ]
    assert all(a.worker == worker.name and a.latency_ms >= 0 for a in history)
    submission = await row(db, reference)
    assert submission.status == "delivered" and submission.attempts == 4
    assert submission.remote_id == "CASE-1" and submission.delivered_at is not None
    assert submission.last_error is None and submission.locked_by is None


async def test_client_error_fails_at_once(db: Database, stand_in: StandIn):
    stand_in.script.append(Reply(400, {"error": "institution unknown"}))
    (reference,) = await submit(db)
    worker = DeliveryWorker(forwarding_config(stand_in.url), db.sessionmaker)
    await run_until(worker, until(db, failed=1))
    await asyncio.sleep(0.2)  # and it is not tried again
    assert len(stand_in.received) == 1
    submission = await row(db, reference)
    assert submission.last_error == 'HTTP 400: {"error": "institution unknown"}'


async def test_timeout_is_retried(db: Database, stand_in: StandIn):
    stand_in.script.append(Reply(delay=1.5))
    (reference,) = await submit(db)
    config = forwarding_config(stand_in.url, timeout=0.3)
    await run_until(DeliveryWorker(config, db.sessionmaker), until(db, delivered=1))
    history = await attempts_of(db, reference)
    assert [(a.outcome, a.error) for a in history] == [
        ("retry", "timeout after 0.3s"),
        ("delivered", None),
    ]


async def test_gives_up_as_dead_then_retry_delivers(db: Database, stand_in: StandIn):
    stand_in.default = Reply(500)
    first, second = await submit(db, 2)
    config = forwarding_config(stand_in.url, retry={"max_attempts": 3})
    await run_until(DeliveryWorker(config, db.sessionmaker), until(db, dead=2))
    assert sorted(stand_in.keys()) == sorted([first] * 3 + [second] * 3)
    assert (await row(db, first)).last_error == "HTTP 500"

    stand_in.default = Reply(201, {"case_number": "C-9"})
    assert await DeliveryLedger(db.sessionmaker).requeue(reference=first.lower()) == [first]
    await run_until(DeliveryWorker(config, db.sessionmaker), until(db, delivered=1, dead=1))
    assert stand_in.keys()[-1] == first
    revived = await row(db, first)
    assert revived.remote_id == "C-9" and revived.attempts == 1
    assert len(await attempts_of(db, first)) == 4  # history kept across the retry


async def test_gives_up_past_the_give_up_age(db: Database, stand_in: StandIn):
    stand_in.default = Reply(503)
    await submit(db)
    config = forwarding_config(stand_in.url, retry={"max_attempts": 1000, "give_up_after": 0.4})
    await run_until(DeliveryWorker(config, db.sessionmaker), until(db, dead=1))
    assert 2 <= len(stand_in.received) < 20


async def test_retry_after_is_honoured(db: Database, stand_in: StandIn):
    stand_in.script.append(Reply(429, headers={"Retry-After": "1"}))
    (reference,) = await submit(db)
    worker = DeliveryWorker(forwarding_config(stand_in.url), db.sessionmaker)
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.6)
    assert len(stand_in.received) == 1  # backoff alone would have retried within 0.1 s
    pending = await row(db, reference)
    assert pending.status == "pending" and pending.last_error == "HTTP 429"
    await asyncio.sleep(1.0)
    worker.stop()
    await task
    assert (await row(db, reference)).status == "delivered"


async def test_sigterm_style_stop_releases_held_leases(db: Database, stand_in: StandIn):
    stand_in.default = Reply(201, delay=5)
    (reference,) = await submit(db)
    config = forwarding_config(stand_in.url, timeout=10)
    config = type(config)(
        backends=config.backends,
        delivery=type(config.delivery)(poll_interval=0.05, shutdown_grace=0.2),
    )
    worker = DeliveryWorker(config, db.sessionmaker)
    task = asyncio.create_task(worker.run())
    for _ in range(100):
        if stand_in.received:
            break
        await asyncio.sleep(0.02)
    worker.stop()
    await asyncio.wait_for(task, 5)
    released = await row(db, reference)
    assert released.status == "pending" and released.locked_by is None
    assert released.attempts == 0

    stand_in.default = Reply(201)
    await run_until(DeliveryWorker(config, db.sessionmaker), until(db, delivered=1))


async def test_two_workers_never_deliver_the_same_submission_at_once(
    db: Database, stand_in: StandIn
):
    stand_in.default = Reply(201, {"case_number": "C"}, delay=0.03)
    references = await submit(db, 60)
    engines = [create_engine(db.url) for _ in range(2)]
    try:
        config = forwarding_config(stand_in.url, concurrency=4)
        workers = [DeliveryWorker(config, create_sessionmaker(e)) for e in engines]
        tasks = [asyncio.create_task(w.run()) for w in workers]
        check = until(db, delivered=60)
        for _ in range(400):
            if await check():
                break
            await asyncio.sleep(0.05)
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks)
    finally:
        for engine in engines:
            await engine.dispose()
    assert await check()
    assert sorted(stand_in.keys()) == sorted(references)  # each exactly once
    assert stand_in.max_in_flight_per_key == 1
    assert all(w.stats.delivered > 0 for w in workers), [w.stats for w in workers]


async def test_anonymous_submission_reaches_the_backend_without_a_number(
    db: Database, stand_in: StandIn
):
    await submit(db, anonymous=True)
    worker = DeliveryWorker(forwarding_config(stand_in.url), db.sessionmaker)
    await run_until(worker, until(db, delivered=1))
    body = stand_in.received[0].json
    assert body["phone"] is None and body["anonymous"] is True


async def test_a_backend_coming_back_brings_the_waiting_ones_forward(
    db: Database, stand_in: StandIn
):
    stand_in.script.append(Reply(503))
    (first,) = await submit(db)
    (waiting,) = await submit(db)
    async with db.sessionmaker() as session, session.begin():  # as if deep into its backoff
        await session.execute(
            update(Submission)
            .where(Submission.reference == waiting)
            .values(next_attempt_at=utcnow() + dt.timedelta(hours=1), attempts=9)
        )
    config = forwarding_config(stand_in.url, retry={"base_delay": 0.5, "jitter": 0})
    await run_until(DeliveryWorker(config, db.sessionmaker), until(db, delivered=2), within=8)
    assert stand_in.keys() == [first, first, waiting]
