"""SubmissionStore against real SQLite and PostgreSQL databases (never mocked sessions)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.support.databases import TEST_DATABASE_URL_ENV, Database, sqlite_url
from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.submissions import store as store_module
from ussd_gateway.adapters.submissions.store import SubmissionStore, SubmissionUnavailable
from ussd_gateway.domain.references import ALPHABET, is_valid
from ussd_gateway.domain.submissions import SubmissionDraft


def draft(key: str = "session-1:submit", **overrides: Any) -> SubmissionDraft:
    values: dict[str, Any] = {
        "idempotency_key": key,
        "service": "water",
        "backend": "water-api",
        "channel": "ussd",
        "language": "en",
        "data": {"district": "Kibera", "issue": "no water", "days": 3},
        "phone": "+254700000001",
        "kind": "complaint",
    }
    values.update(overrides)
    return SubmissionDraft(**values)


@pytest.fixture
def store(db: Database) -> SubmissionStore:
    return SubmissionStore(sessionmaker=db.sessionmaker)


async def fetch_rows(url: str, where: str = "", **params: Any) -> list[dict[str, Any]]:
    """Rows as another process would see them: a new engine, plain SQL, no ORM."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text(f"SELECT * FROM submissions {where} ORDER BY id"), params
            )
            return [dict(row) for row in result.mappings()]
    finally:
        await engine.dispose()


def mistype(reference: str, position: int = 3) -> str:
    symbol = reference[position]
    other = ALPHABET[(ALPHABET.index(symbol) + 1) % len(ALPHABET)]
    return reference[:position] + other + reference[position + 1 :]


async def test_submit_commits_before_returning_the_reference(db: Database, store: SubmissionStore):
    reference = await store.submit(draft())

    assert is_valid(reference) and len(reference) == 8
    [row] = await fetch_rows(db.url)
    assert row["reference"] == reference
    assert row["idempotency_key"] == "session-1:submit"
    assert (row["service"], row["backend"], row["channel"], row["language"], row["kind"]) == (
        "water",
        "water-api",
        "ussd",
        "en",
        "complaint",
    )
    assert row["phone"] == "+254700000001"
    assert not row["anonymous"]
    data = row["data"]
    if isinstance(data, str):  # SQLite returns JSON as text through a plain-SQL query
        import json

        data = json.loads(data)
    assert data == {"district": "Kibera", "issue": "no water", "days": 3}
    assert row["status"] == "pending"
    assert row["status_note"] is None
    assert row["attempts"] == 0
    assert row["next_attempt_at"] is not None


async def test_same_idempotency_key_twice_gives_the_same_reference(store: SubmissionStore):
    first = await store.submit(draft())
    second = await store.submit(draft(data={"something": "else"}))

    assert second == first
    assert await store.count() == 1


async def test_same_key_submitted_concurrently_makes_one_row(db: Database, store: SubmissionStore):
    results = await asyncio.gather(*(store.submit(draft("hop-42")) for _ in range(10)))

    assert len(set(results)) == 1
    assert len(await fetch_rows(db.url)) == 1


async def test_same_key_from_several_processes_makes_one_row(db: Database):
    """Separate engines stand for separate gateway processes behind a load balancer."""
    engines = [create_engine(db.url) for _ in range(5)]
    try:
        stores = [SubmissionStore(sessionmaker=create_sessionmaker(e)) for e in engines]
        results = await asyncio.gather(*(s.submit(draft("hop-7")) for s in stores * 2))
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))

    assert len(set(results)) == 1
    assert len(await fetch_rows(db.url)) == 1


async def test_different_keys_make_different_rows(store: SubmissionStore):
    references = await asyncio.gather(*(store.submit(draft(f"hop-{i}")) for i in range(10)))

    assert len(set(references)) == 10
    assert await store.count() == 10
    assert await store.count(status="pending", service="water") == 10


async def test_anonymous_submission_never_stores_the_phone(db: Database, store: SubmissionStore):
    reference = await store.submit(draft(anonymous=True, phone="+254700000009"))

    [row] = await fetch_rows(db.url, "WHERE reference = :r", r=reference)
    assert row["phone"] is None
    assert row["anonymous"]
    assert await store.count(phone=None) == 1


async def test_database_refuses_a_phone_on_an_anonymous_row(db: Database):
    """Defence in depth: even code bypassing the store cannot keep an anonymous number."""
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO submissions (reference, idempotency_key, service, backend, "
                    "channel, language, phone, anonymous, data) VALUES ('ABCDEFG5', 'k', 's', "
                    "'b', 'ussd', 'en', '+254700000009', :anonymous, '{}')"
                ),
                {"anonymous": True},
            )


async def test_get_returns_what_a_citizen_may_see(store: SubmissionStore):
    reference = await store.submit(draft())

    view = await store.get(reference)

    assert view is not None
    assert view.reference == reference
    assert (view.service, view.status, view.status_note, view.kind) == (
        "water",
        "pending",
        None,
        "complaint",
    )
    assert view.extra == {}
    for moment in (view.created_at, view.updated_at):
        assert moment.tzinfo is not None and moment.utcoffset() == dt.timedelta(0)
        assert abs(dt.datetime.now(dt.UTC) - moment) < dt.timedelta(minutes=1)
    assert "+2547" not in repr(view) and "Kibera" not in repr(view)


async def test_get_accepts_the_reference_as_typed(store: SubmissionStore):
    reference = await store.submit(draft())

    typed = f" {reference[:4].lower()}-{reference[4:].lower()} "
    view = await store.get(typed)

    assert view is not None and view.reference == reference


async def test_get_unknown_or_mistyped_reference_is_none(store: SubmissionStore):
    reference = await store.submit(draft())

    assert await store.get(mistype(reference)) is None
    assert await store.get("ABCDEFG5") is None  # well-formed, never issued
    assert await store.get("") is None
    assert await store.get("not a reference") is None


async def test_set_status(store: SubmissionStore):
    reference = await store.submit(draft())
    before = await store.get(reference)
    assert before is not None
    await asyncio.sleep(0.01)

    assert await store.set_status(reference.lower(), "delivered", "Ticket W-123")

    after = await store.get(reference)
    assert after is not None
    assert (after.status, after.status_note) == ("delivered", "Ticket W-123")
    assert after.created_at == before.created_at
    assert after.updated_at > before.updated_at
    assert await store.count(status="delivered") == 1

    assert await store.set_status(reference, "failed")
    after = await store.get(reference)
    assert after is not None and (after.status, after.status_note) == ("failed", None)


async def test_set_status_unknown_reference_is_false(store: SubmissionStore):
    assert not await store.set_status("ABCDEFG5", "delivered")
    assert not await store.set_status("nonsense", "delivered")


async def test_reference_collision_draws_another(
    store: SubmissionStore, monkeypatch: pytest.MonkeyPatch
):
    taken = await store.submit(draft("first"))
    fresh = iter([taken, taken, "ABCDEFG5"])
    monkeypatch.setattr(store_module, "new_reference", lambda: next(fresh))

    reference = await store.submit(draft("second"))

    assert reference == "ABCDEFG5"
    assert await store.count() == 2


async def test_endless_reference_collisions_give_up(
    store: SubmissionStore, monkeypatch: pytest.MonkeyPatch
):
    taken = await store.submit(draft("first"))
    monkeypatch.setattr(store_module, "new_reference", lambda: taken)

    with pytest.raises(SubmissionUnavailable, match="unused reference"):
        await store.submit(draft("second"))
    assert await store.count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"channel": "fax"},
        {"idempotency_key": ""},
        {"idempotency_key": "k" * 201},
        {"service": "s" * 101},
        {"phone": "+" + "9" * 40},
    ],
)
async def test_bad_drafts_are_rejected_before_the_database(
    store: SubmissionStore, overrides: dict[str, Any]
):
    with pytest.raises(ValueError):
        await store.submit(draft(**overrides))
    assert await store.count() == 0


async def test_sms_channel_is_accepted(store: SubmissionStore):
    await store.submit(draft(channel="sms"))
    assert await store.count(channel="sms") == 1


async def test_count_rejects_unknown_columns(store: SubmissionStore):
    with pytest.raises(TypeError, match="nope"):
        await store.count(nope=1)


# Unreachable databases: the caller must get SubmissionUnavailable, never a driver error.


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def assert_unavailable(url: str) -> None:
    engine = create_engine(url, connect_timeout=2)
    store = SubmissionStore(sessionmaker=create_sessionmaker(engine))
    try:
        with pytest.raises(SubmissionUnavailable):
            await store.submit(draft())
        with pytest.raises(SubmissionUnavailable):
            await store.get("ABCDEFG5")
        with pytest.raises(SubmissionUnavailable):
            await store.set_status("ABCDEFG5", "delivered")
        with pytest.raises(SubmissionUnavailable):
            await store.count()
    finally:
        await engine.dispose()


async def test_postgresql_on_a_closed_port_is_unavailable():
    await assert_unavailable(f"postgresql://postgres@127.0.0.1:{closed_port()}/gateway")


async def test_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path: Path):
    # A directory where the database file should be: SQLite cannot open it (even as root).
    (tmp_path / "gateway.db").mkdir()
    await assert_unavailable(sqlite_url(tmp_path / "gateway.db"))
    # aiosqlite stops the worker thread of a failed connect without awaiting it; let it finish
    # while this loop is open, or it reports "Event loop is closed" (omnilib/aiosqlite#241).
    await asyncio.sleep(0.2)


async def test_sqlite_without_the_table_is_not_unavailable(tmp_path: Path):
    """A missing migration is a deployment bug, not an outage: it must not be disguised."""
    engine = create_engine(sqlite_url(tmp_path / "empty.db"))
    store = SubmissionStore(sessionmaker=create_sessionmaker(engine))
    try:
        with pytest.raises(Exception) as raised:
            await store.count()
        assert not isinstance(raised.value, SubmissionUnavailable)
    finally:
        await engine.dispose()


@pytest.mark.skipif(not os.environ.get(TEST_DATABASE_URL_ENV), reason="needs TEST_DATABASE_URL")
async def test_postgresql_database_that_does_not_exist_is_unavailable():
    url = make_url(create_engine(os.environ[TEST_DATABASE_URL_ENV]).url)
    missing = url.set(database="ussd_test_does_not_exist").render_as_string(hide_password=False)
    await assert_unavailable(missing)
