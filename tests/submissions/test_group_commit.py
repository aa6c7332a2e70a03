"""Group commit on a real SQLite file: concurrent submits share transactions, rows stay exact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.submissions.test_store import draft, fetch_rows
from tests.support.databases import sqlite_url
from ussd_gateway.db.engine import create_engine, create_sessionmaker
from ussd_gateway.db.migrate import upgrade
from ussd_gateway.submissions.store import SubmissionStore


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
