"""Group commit on real databases: concurrent submits share transactions, rows stay exact."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.submissions.test_store import draft, fetch_rows
from tests.support.databases import Database, sqlite_url
from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.migrate import upgrade
from ussd_gateway.adapters.db.models import SmsMessage
from ussd_gateway.adapters.submissions import group_commit
from ussd_gateway.adapters.submissions import store as store_module
from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.domain.references import check_symbol
from ussd_gateway.domain.submissions import REFERENCE_SLOT, SmsReceipt, SubmissionDraft


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url(tmp_path / "group.db"))
    await upgrade(engine)
    yield engine
    await engine.dispose()


async def test_concurrent_submits_share_transactions_and_each_gets_its_row(
    engine: AsyncEngine,
) -> None:
    store = SubmissionStore(sessionmaker=create_sessionmaker(engine))
    assert store._group is not None  # on by default on SQLite

    references = await asyncio.gather(*(store.submit(draft(f"s{i}:submit")) for i in range(60)))

    assert len(set(references)) == 60
    assert store._group.rows == 60
    assert store._group.batches < 60  # later arrivals waited for one commit, not one each
    rows = await fetch_rows(engine.url.render_as_string(hide_password=False))
    assert sorted(r["reference"] for r in rows) == sorted(references)
    assert sorted(r["idempotency_key"] for r in rows) == sorted(f"s{i}:submit" for i in range(60))


async def test_duplicates_in_one_batch_and_across_batches_get_the_first_reference(
    engine: AsyncEngine,
) -> None:
    store = SubmissionStore(sessionmaker=create_sessionmaker(engine))
    first = await store.submit(draft("same:submit"))

    again = await asyncio.gather(
        *(store.submit(draft("same:submit", data={"copy": i})) for i in range(5)),
        store.submit(draft("other:submit")),
    )

    assert again[:5] == [first] * 5
    assert again[5] != first
    assert await store.count() == 2


async def test_a_broken_draft_fails_alone(engine: AsyncEngine) -> None:
    store = SubmissionStore(sessionmaker=create_sessionmaker(engine))

    results = await asyncio.gather(
        store.submit(draft("good-1:submit")),
        store.submit(draft("bad:submit", service=None)),  # NOT NULL: the batch must not fail
        store.submit(draft("good-2:submit")),
        return_exceptions=True,
    )

    assert isinstance(results[0], str) and isinstance(results[2], str)
    assert isinstance(results[1], Exception)
    assert await store.count() == 2


async def test_group_commit_can_be_turned_off(engine: AsyncEngine) -> None:
    store = SubmissionStore(sessionmaker=create_sessionmaker(engine), group_commit=False)
    assert store._group is None
    references = await asyncio.gather(*(store.submit(draft(f"s{i}:submit")) for i in range(5)))
    assert len(set(references)) == 5


# The same guarantees on every database (SQLite and, with TEST_DATABASE_URL, PostgreSQL).


def references(*bodies: str) -> list[str]:
    """Valid references with the given 7-symbol bodies, in order."""
    return [body + check_symbol(body) for body in bodies]


async def test_a_duplicate_key_in_one_batch_gets_the_first_drafts_reference(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SubmissionStore(sessionmaker=db.sessionmaker)
    assert store._group is not None
    stored = await store.submit(draft("earlier:submit"))
    first, second, third, fourth = references("AAAAAAA", "BBBBBBB", "CCCCCCC", "DDDDDDD")
    drawn = iter([first, second, third, fourth])
    monkeypatch.setattr(store_module, "new_reference", lambda: next(drawn))
    batches = store._group.batches

    got = await asyncio.gather(
        store.submit(draft("twice:submit", data={"copy": 1})),
        store.submit(draft("twice:submit", data={"copy": 2})),  # the same hop, retried at once
        store.submit(draft("earlier:submit")),  # a hop stored in an earlier batch, retried
        store.submit(draft("new:submit")),
    )

    assert store._group.batches == batches + 1  # one batch held them all
    assert got == [first, first, stored, fourth]
    rows = {r["idempotency_key"]: r for r in await fetch_rows(db.url)}
    assert sorted(rows) == ["earlier:submit", "new:submit", "twice:submit"]
    assert rows["twice:submit"]["reference"] == first
    data = rows["twice:submit"]["data"]
    assert (json.loads(data) if isinstance(data, str) else data)["copy"] == 1


async def test_a_reference_collision_in_a_batch_is_written_alone_with_another_reference(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SubmissionStore(sessionmaker=db.sessionmaker)
    taken = await store.submit(draft("owner:submit"))
    mine, spare, theirs = references("EEEEEEE", "FFFFFFF", "GGGGGGG")
    drawn = iter([mine, taken, theirs, spare])  # the batch draws 3, the lone retry the 4th
    monkeypatch.setattr(store_module, "new_reference", lambda: next(drawn))

    got = await asyncio.gather(
        store.submit(draft("a:submit")),
        store.submit(draft("b:submit")),  # drew a reference already stored
        store.submit(draft("c:submit")),
    )

    assert got == [mine, spare, theirs]
    rows = {r["idempotency_key"]: r["reference"] for r in await fetch_rows(db.url)}
    assert rows == {"owner:submit": taken, "a:submit": mine, "b:submit": spare, "c:submit": theirs}


def with_receipt(key: str, language: Any = "sw") -> SubmissionDraft:
    return draft(key, receipt=SmsReceipt("+255712345678", language, f"Ref {REFERENCE_SLOT}"))


async def receipts(db: Database) -> dict[str, str]:
    async with db.sessionmaker() as session:
        return dict((await session.execute(select(SmsMessage.purpose, SmsMessage.body))).all())


async def test_receipts_land_with_their_submission_and_never_without(db: Database) -> None:
    store = SubmissionStore(sessionmaker=db.sessionmaker)

    got = await asyncio.gather(
        store.submit(with_receipt("r1:submit")),
        store.submit(draft("plain:submit")),
        store.submit(with_receipt("broken:submit", language=None)),  # the outbox refuses it
        store.submit(with_receipt("r2:submit")),
        return_exceptions=True,
    )

    first, plain, broken, second = got
    assert isinstance(broken, Exception)  # its submission and its receipt fail together
    rows = {r["idempotency_key"]: r["reference"] for r in await fetch_rows(db.url)}
    assert rows == {"r1:submit": first, "plain:submit": plain, "r2:submit": second}
    assert await receipts(db) == {f"receipt:{r}": f"Ref {r}" for r in (first, second)}


async def test_a_batch_without_receipts_after_one_with_them_is_committed(db: Database) -> None:
    """PostgreSQL switches the kept connection between a transaction and autocommit."""
    store = SubmissionStore(sessionmaker=db.sessionmaker)
    for round_ in range(3):
        with_ = await asyncio.gather(
            *(store.submit(with_receipt(f"w{round_}.{i}")) for i in range(3))
        )
        without = await asyncio.gather(*(store.submit(draft(f"o{round_}.{i}")) for i in range(3)))
        assert len(set(with_ + without)) == 6

    assert await store.count() == 18
    assert len(await receipts(db)) == 9
    # what another process sees: every row committed, nothing left in a transaction
    assert len(await fetch_rows(db.url)) == 18


async def test_the_writer_gives_its_connection_back_once_idle_or_closed(db: Database) -> None:
    store = SubmissionStore(sessionmaker=db.sessionmaker)
    await asyncio.gather(*(store.submit(draft(f"k{i}")) for i in range(5)))
    await asyncio.sleep(group_commit.LINGER + 0.2)
    assert db.engine.pool.checkedout() == 0  # other users (and dispose) get it back

    await asyncio.gather(*(store.submit(draft(f"again{i}")) for i in range(5)))
    await store.close()
    assert db.engine.pool.checkedout() == 0
    assert await store.count() == 10


async def test_a_kept_connection_the_database_closed_costs_no_submission(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart between two batches: the next batch is written on a new connection."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's connection is not kept between batches")
    monkeypatch.setattr(group_commit, "LINGER", 30.0)  # the writer keeps its connection
    store = SubmissionStore(sessionmaker=db.sessionmaker)
    first = await store.submit(draft("before-restart"))
    async with db.engine.connect() as admin:  # every other connection to this database goes
        killed = await admin.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert killed >= 1

    second = await store.submit(draft("after-restart"))

    assert second != first
    rows = {r["idempotency_key"]: r["reference"] for r in await fetch_rows(db.url)}
    assert rows == {"before-restart": first, "after-restart": second}
    await store.close()


async def test_a_submission_arriving_as_the_writers_wait_ends_is_written(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's wait for more ends in the very turn of the loop a submission arrives in:
    the submission must still be written, not wait for a writer that has stopped."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writer does not wait with its connection")
    monkeypatch.setattr(group_commit, "LINGER", 0.2)
    store = SubmissionStore(sessionmaker=db.sessionmaker)
    await store.submit(draft("first"))  # the writer now waits 0.2 s for more
    loop = asyncio.get_running_loop()
    woken = loop.create_future()
    # due just before the writer's wait ends, so this task runs first in the turn both end in
    loop.call_later(0, woken.set_result, None)
    time.sleep(0.3)  # noqa: ASYNC251 -- blocks the loop on purpose: both fall due in one turn
    await woken

    async with asyncio.timeout(5):  # a timeout context: store.submit runs in this turn
        second = await store.submit(draft("second"))

    rows = {r["idempotency_key"]: r["reference"] for r in await fetch_rows(db.url)}
    assert rows["second"] == second
    await store.close()
