"""The delivery worker on real databases against a real stand-in backend."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select, update

from tests.forwarding.conftest import (
    Reply,
    StandIn,
    delivery_worker,
    forwarding_config,
    row,
    run_until,
    statuses,
    submit,
)
from tests.support.clock import SteppedClock
from tests.support.databases import Database
from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.models import DeliveryAttempt, SmsMessage, Submission, utcnow
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger
from ussd_gateway.domain.submissions import REFERENCE_SLOT, SmsReceipt


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
    worker = delivery_worker(forwarding_config(stand_in.url), db.sessionmaker)
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
    worker = delivery_worker(forwarding_config(stand_in.url), db.sessionmaker)
    await run_until(worker, until(db, failed=1))
    await asyncio.sleep(0.2)  # and it is not tried again
    assert len(stand_in.received) == 1
    submission = await row(db, reference)
    assert submission.last_error == 'HTTP 400: {"error": "institution unknown"}'


async def test_timeout_is_retried(db: Database, stand_in: StandIn):
    stand_in.script.append(Reply(delay=1.5))
    (reference,) = await submit(db)
    config = forwarding_config(stand_in.url, timeout=0.3)
    await run_until(delivery_worker(config, db.sessionmaker), until(db, delivered=1))
    history = await attempts_of(db, reference)
    assert [(a.outcome, a.error) for a in history] == [
        ("retry", "timeout after 0.3s"),
        ("delivered", None),
    ]


async def test_gives_up_as_dead_then_retry_delivers(db: Database, stand_in: StandIn):
    stand_in.default = Reply(500)
    first, second = await submit(db, 2)
    config = forwarding_config(stand_in.url, retry={"max_attempts": 3})
    await run_until(delivery_worker(config, db.sessionmaker), until(db, dead=2))
    assert sorted(stand_in.keys()) == sorted([first] * 3 + [second] * 3)
    assert (await row(db, first)).last_error == "HTTP 500"

    stand_in.default = Reply(201, {"case_number": "C-9"})
    assert await DeliveryLedger(db.sessionmaker).requeue(reference=first.lower()) == [first]
    await run_until(delivery_worker(config, db.sessionmaker), until(db, delivered=1, dead=1))
    assert stand_in.keys()[-1] == first
    revived = await row(db, first)
    assert revived.remote_id == "C-9" and revived.attempts == 1
    assert len(await attempts_of(db, first)) == 4  # history kept across the retry


async def test_gives_up_past_the_give_up_age(db: Database, stand_in: StandIn):
    stand_in.default = Reply(503)
    await submit(db)
    config = forwarding_config(stand_in.url, retry={"max_attempts": 1000, "give_up_after": 0.4})
    await run_until(delivery_worker(config, db.sessionmaker), until(db, dead=1))
    assert 2 <= len(stand_in.received) < 20


async def test_retry_after_is_honoured(db: Database, stand_in: StandIn):
    stand_in.script.append(Reply(429, headers={"Retry-After": "30"}))
    (reference,) = await submit(db)
    clock = SteppedClock()
    worker = delivery_worker(forwarding_config(stand_in.url), db.sessionmaker, clock=clock)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(100):
            waiting = await row(db, reference)
            if waiting.last_error:
                break
            await asyncio.sleep(0.05)
        assert waiting.status == "pending" and waiting.last_error == "HTTP 429"
        assert waiting.next_attempt_at is not None
        # backoff alone would have waited at most 0.2 s
        assert waiting.next_attempt_at - waiting.updated_at == dt.timedelta(seconds=30)
        clock.advance(29.5)
        await asyncio.sleep(0.3)  # six polls
        assert len(stand_in.received) == 1
        clock.advance(1)
        for _ in range(100):
            if (await row(db, reference)).status == "delivered":
                break
            await asyncio.sleep(0.05)
        assert (await row(db, reference)).status == "delivered"
        assert len(stand_in.received) == 2
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def test_sigterm_style_stop_releases_held_leases(db: Database, stand_in: StandIn):
    stand_in.default = Reply(201, delay=5)
    (reference,) = await submit(db)
    config = forwarding_config(stand_in.url, timeout=10)
    config = type(config)(
        backends=config.backends,
        delivery=type(config.delivery)(poll_interval=0.05, shutdown_grace=0.2),
    )
    worker = delivery_worker(config, db.sessionmaker)
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
    await run_until(delivery_worker(config, db.sessionmaker), until(db, delivered=1))


async def test_two_workers_never_deliver_the_same_submission_at_once(
    db: Database, stand_in: StandIn
):
    stand_in.default = Reply(201, {"case_number": "C"}, delay=0.03)
    references = await submit(db, 60)
    engines = [create_engine(db.url) for _ in range(2)]
    try:
        config = forwarding_config(stand_in.url, concurrency=4)
        workers = [delivery_worker(config, create_sessionmaker(e)) for e in engines]
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
    assert all(w.stats["delivered"] > 0 for w in workers), [w.stats for w in workers]


async def test_anonymous_submission_reaches_the_backend_without_a_number(
    db: Database, stand_in: StandIn
):
    await submit(db, anonymous=True)
    worker = delivery_worker(forwarding_config(stand_in.url), db.sessionmaker)
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
    await run_until(delivery_worker(config, db.sessionmaker), until(db, delivered=2), within=8)
    assert stand_in.keys() == [first, first, waiting]


# ---- leases: short, renewed while a delivery is in flight ----------------------------------


async def test_a_dead_workers_submissions_are_taken_up_within_the_default_lease(
    db: Database, stand_in: StandIn
):
    references = await submit(db, 3)
    config = forwarding_config(stand_in.url)
    config = type(config)(  # the shipped lease: no delivery.lease given
        backends=config.backends, delivery=type(config.delivery)(poll_interval=0.05)
    )
    clock = SteppedClock()
    dead = delivery_worker(config, db.sessionmaker, clock=clock)
    await dead.open()
    try:  # claimed, then killed before sending or releasing anything (SIGKILL)
        assert len(await dead.sender.claim(dead.queue, dead.name, 10)) == 3
    finally:
        await dead.sender.close()

    other = delivery_worker(config, db.sessionmaker, clock=clock)
    await other.open()
    try:
        clock.advance(5)
        assert await other.sender.claim(other.queue, other.name, 10) == []  # still leased
    finally:
        await other.sender.close()
    clock.advance(6)  # 11 s after the claim: the lease (10 s) has run out, not a minute
    await run_until(delivery_worker(config, db.sessionmaker, clock=clock), until(db, delivered=3))
    assert sorted(stand_in.keys()) == sorted(references)
    assert {(await row(db, r)).attempts for r in references} == {2}


async def test_a_slow_delivery_keeps_its_short_lease_and_is_not_sent_twice(
    db: Database, stand_in: StandIn
):
    stand_in.default = Reply(201, {"case_number": "CASE-1"}, delay=2.5)
    (reference,) = await submit(db)
    config = forwarding_config(stand_in.url, timeout=10, lease=0.6)
    first = delivery_worker(config, db.sessionmaker)
    second = delivery_worker(config, db.sessionmaker)
    task = asyncio.create_task(first.run())
    try:
        for _ in range(200):
            if stand_in.received:
                break
            await asyncio.sleep(0.02)
        assert stand_in.received, "the first worker never called the backend"
        # many leases long, with another worker looking all the while
        await run_until(second, until(db, delivered=1))
    finally:
        first.stop()
        await asyncio.wait_for(task, 10)
    assert stand_in.keys() == [reference]  # delivered once
    assert first.stats["delivered"] == 1 and second.stats["claimed"] == 0
    assert (await row(db, reference)).attempts == 1


# ---- given up: the citizen is told, once --------------------------------------------------


async def test_a_dead_submission_queues_one_sms_in_the_citizens_language(
    db: Database, stand_in: StandIn
):
    stand_in.default = Reply(503)
    (english,) = await submit(db, language="en")
    (swahili,) = await submit(db, phone="+255712000001")
    config = forwarding_config(stand_in.url, retry={"max_attempts": 1})
    await run_until(delivery_worker(config, db.sessionmaker), until(db, dead=2))
    async with db.sessionmaker() as session:
        queued = {
            m.reference: m
            for m in await session.scalars(
                select(SmsMessage).where(SmsMessage.purpose.like("undelivered:%"))
            )
        }
    assert set(queued) == {english, swahili}
    sent = queued[english]
    assert (sent.purpose, sent.language, sent.phone) == (
        f"undelivered:{english}",
        "en",
        "+255712345678",
    )
    assert sent.body == (
        f"Reference number {english}: sorry, your request has not reached the institution yet. "
        "We are following it up; there is no need to send it again."
    )
    assert queued[swahili].body.startswith(
        f"Namba ya kumbukumbu {swahili}: samahani, ombi lako bado"
    )


async def test_an_anonymous_citizen_is_told_only_while_the_receipts_number_is_held(
    db: Database, stand_in: StandIn
):
    stand_in.default = Reply(422)
    receipt = SmsReceipt("+255712345678", "sw", f"Kumbukumbu {REFERENCE_SLOT}", drop_phone=True)
    (asked,) = await submit(db, anonymous=True, phone=None, receipt=receipt)
    await submit(db, anonymous=True, phone=None)  # no receipt asked for: nobody to tell
    config = forwarding_config(stand_in.url)
    await run_until(delivery_worker(config, db.sessionmaker), until(db, failed=2))
    async with db.sessionmaker() as session:
        queued = list(
            await session.scalars(
                select(SmsMessage).where(SmsMessage.purpose.like("undelivered:%"))
            )
        )
    assert [(m.reference, m.phone, m.drop_phone) for m in queued] == [
        (asked, "+255712345678", True)  # erased once sent, as the receipt's is
    ]
