"""The queue both outboxes share, on each of their tables, on real databases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.forwarding.conftest import submit
from tests.support.clock import SteppedClock
from tests.support.databases import Database
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger
from ussd_gateway.adapters.outbox.queue import Outcome, Queue, Table
from ussd_gateway.adapters.outbox.senders.delivery import SUBMISSIONS
from ussd_gateway.adapters.outbox.senders.sms import MESSAGES
from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.config.backends import RetryPolicy
from ussd_gateway.domain.outgoing import OutgoingSms

POLICY = RetryPolicy(base_delay=60, jitter=0)


@dataclass(frozen=True)
class Item:
    id: int
    attempt: int
    age_from: dt.datetime


async def one_waiting(db: Database, table: Table) -> None:
    if table is SUBMISSIONS:
        await submit(db)
    else:
        await SmsOutbox(db.sessionmaker).enqueue(
            OutgoingSms("receipt:A", "+255712345678", "sw", "x")
        )


async def claim(queue: Queue, worker: str, lease: float = 10) -> list[Item]:
    model = queue.table.model
    columns = (model.id, model.attempts, model.created_at)
    return [Item(*row) for row in await queue.claim(worker, 10, lease, columns)]


async def the_row(db: Database, table: Table):
    async with db.sessionmaker() as session:
        return await session.scalar(select(table.model))


@pytest.mark.parametrize("table", [SUBMISSIONS, MESSAGES], ids=["submissions", "sms"])
async def test_a_success_after_the_lease_passed_on_still_counts(db: Database, table: Table):
    await one_waiting(db, table)
    clock = SteppedClock()
    queue = Queue(db.sessionmaker, table, clock)
    (first,) = await claim(queue, "a")
    assert await claim(queue, "b") == []  # leased
    clock.advance(11)
    (second,) = await claim(queue, "b")  # the lease ran out: taken over
    assert second.attempt == 2

    done = await queue.record(
        first, Outcome.DONE, worker="a", now=clock(), policy=POLICY, values={}
    )
    assert done == table.done
    row = await the_row(db, table)
    assert (row.status, row.locked_by) == (table.done, None)
    # the newer holder's failure comes too late to undo it
    late = {"last_error": "too late"}
    later = await queue.record(
        second, Outcome.RETRY, worker="b", now=clock(), policy=POLICY, values=late
    )
    assert later == table.pending
    row = await the_row(db, table)
    assert (row.status, row.locked_by, row.last_error) == (table.done, None, None)


async def test_a_status_a_backend_reported_meanwhile_is_kept(db: Database):
    (reference,) = await submit(db)
    queue = Queue(db.sessionmaker, SUBMISSIONS)
    (item,) = await claim(queue, "a")
    ledger = DeliveryLedger(db.sessionmaker)
    reported = await ledger.set_backend_status(
        backend="feedback", reference=reference, status="received", note=None, notes=None
    )
    assert reported is not None and (reported.previous, reported.status) == ("pending", "received")
    failed = await queue.record(
        item, Outcome.FAILED, worker="a", now=queue.now(), policy=POLICY, values={"last_error": "x"}
    )
    assert failed == "failed"  # what the attempt came to
    row = await the_row(db, SUBMISSIONS)
    assert (row.status, row.last_error, row.locked_by) == ("received", "x", None)


@pytest.mark.parametrize("table", [SUBMISSIONS, MESSAGES], ids=["submissions", "sms"])
async def test_retry_waits_by_the_policy_then_gives_up(db: Database, table: Table):
    await one_waiting(db, table)
    clock = SteppedClock()
    queue = Queue(db.sessionmaker, table, clock)
    policy = RetryPolicy(max_attempts=2, base_delay=60, jitter=0)
    (item,) = await claim(queue, "a")
    now = clock()
    status = await queue.record(item, Outcome.RETRY, worker="a", now=now, policy=policy, values={})
    assert status == table.pending
    row = await the_row(db, table)
    assert row.next_attempt_at == now + dt.timedelta(seconds=60) and row.locked_by is None
    assert await claim(queue, "a") == []  # not due yet
    clock.advance(60)
    (item,) = await claim(queue, "a")
    status = await queue.record(
        item, Outcome.RETRY, worker="a", now=clock(), policy=policy, values={}
    )
    assert status == table.dead == (await the_row(db, table)).status


@pytest.mark.parametrize("table", [SUBMISSIONS, MESSAGES], ids=["submissions", "sms"])
async def test_release_gives_back_only_its_own_leases_and_the_attempt(db: Database, table: Table):
    await one_waiting(db, table)
    queue = Queue(db.sessionmaker, table)
    (item,) = await claim(queue, "a")
    await queue.release("b", [item.id])
    assert (await the_row(db, table)).locked_by == "a"
    await queue.release("a", [item.id])
    row = await the_row(db, table)
    assert (row.locked_by, row.locked_until, row.attempts) == (None, None, 0)
    assert [i.attempt for i in await claim(queue, "b")] == [1]  # due again at once


@pytest.mark.parametrize("table", [SUBMISSIONS, MESSAGES], ids=["submissions", "sms"])
async def test_renew_keeps_only_its_own_leases(db: Database, table: Table):
    await one_waiting(db, table)
    clock = SteppedClock()
    queue = Queue(db.sessionmaker, table, clock)
    (item,) = await claim(queue, "a", lease=10)
    clock.advance(8)
    assert await queue.renew("b", [item.id], 10) == 0  # not b's to keep
    assert await queue.renew("a", [item.id], 10) == 1
    clock.advance(8)  # 16 s after the claim, 8 after the renewal
    assert await claim(queue, "b") == []
    clock.advance(3)
    assert [i.id for i in await claim(queue, "b")] == [item.id]  # not renewed again: taken over
