"""Session events: written by real journeys, in batches, off the hop's path."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlalchemy import select, text

from tests.observe.helpers import delta, scrape, seed, uncached
from tests.observe.test_reports import FUNNEL_ROWS, funnel_seed, report
from tests.support import databases
from tests.support.databases import Database
from tests.support.phone import Phone
from tests.test_journeys import give_feedback
from ussd_gateway.adapters.db.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    create_engine,
    create_sessionmaker,
)
from ussd_gateway.adapters.db.migrate import upgrade
from ussd_gateway.adapters.db.models import SessionEvent
from ussd_gateway.adapters.observe.events import (
    COLUMNS,
    EventRecorder,
    events_engine,
    opaque_session_id,
)
from ussd_gateway.config.observability import EventSettings
from ussd_gateway.http.keys import GATEWAY
from ussd_gateway.http.observability import EVENTS


async def events_of(db: Database) -> list[SessionEvent]:
    async with db.sessionmaker() as session:
        rows = await session.execute(select(SessionEvent).order_by(SessionEvent.id))
        return list(rows.scalars())


async def test_real_journeys_land_in_sql(gateway, database_url: str, db: Database) -> None:
    client = await gateway(database_url=database_url)
    phone = Phone(client, number="+255713000222")
    await give_feedback(phone)
    completed = phone.session_id
    await phone.dial()
    await phone.walk("1", "5", "3")  # kind -> opinion -> 3rd institution -> message
    await phone.send("0")  # back to the institution list, then the call drops
    left = phone.session_id

    await client.app[EVENTS].flush()
    rows = await events_of(db)
    by_session: dict[str, list[tuple[str, str | None, str | None]]] = {}
    for row in rows:
        by_session.setdefault(row.session_id, []).append((row.kind, row.screen, row.reason))
        assert row.service == "mrejesho" and row.provider == "africastalking"
        assert row.at.tzinfo is not None and abs(row.at - dt.datetime.now(dt.UTC)).seconds < 60
    assert by_session[opaque_session_id("africastalking", completed)] == [
        ("start", None, None),
        ("screen", "home", None),
        ("screen", "kind", None),
        ("screen", "institution", None),
        ("screen", "body", None),
        ("screen", "identify", None),
        ("screen", "name", None),
        ("screen", "confirm", None),
        ("screen", "done", None),
        ("end", "done", "completed"),
    ]
    assert by_session[opaque_session_id("africastalking", left)] == [
        ("start", None, None),
        ("screen", "home", None),
        ("screen", "kind", None),
        ("screen", "institution", None),
        ("screen", "body", None),
        ("screen", "institution", None),
    ]
    assert len(by_session) == 2
    for row in rows:  # opaque: neither the number nor the aggregator's id
        assert row.session_id not in (completed, left) and "255713" not in row.session_id


async def test_events_are_written_within_the_flush_interval(gateway, sqlite_url: str) -> None:
    client = await gateway(sections=uncached(session_events={"flush_interval": 0.3}))
    phone = Phone(client)
    await phone.dial()
    recorder = client.app[EVENTS]
    assert recorder.pending + recorder.written == 2  # start + home
    for _ in range(50):
        if recorder.written == 2:
            break
        await asyncio.sleep(0.05)
    assert recorder.written == 2 and recorder.pending == 0


async def test_events_left_in_the_buffer_are_written_at_shutdown(
    aiohttp_client, database_url: str, db: Database
) -> None:
    from tests.conftest import project_settings
    from ussd_gateway.http.app import create_app

    settings = project_settings(database_url=database_url, sections=uncached(
        session_events={"flush_interval": 3600, "batch_size": 1000}
    ))  # fmt: skip
    client = await aiohttp_client(create_app(settings))
    await Phone(client).dial()
    assert client.app[EVENTS].pending == 2
    await client.close()
    assert [row.kind for row in await events_of(db)] == ["start", "screen"]


async def test_a_full_buffer_drops_and_counts(gateway, db: Database) -> None:
    client = await gateway(sections=uncached())
    before, _ = await scrape(client)
    recorder = EventRecorder(db.sessionmaker, EventSettings(queue_size=3, batch_size=2))
    for n in range(5):
        recorder.record(session_id=f"s{n}", service="mrejesho", provider="x", kind="start")
    await recorder.flush()
    after, _ = await scrape(client)
    assert delta(before, after, "ussd_session_events_dropped_total", cause="queue_full") == 2
    assert [row.session_id for row in await events_of(db)] == ["s0", "s1", "s2"]
    assert recorder.written == 3


async def test_a_refusing_database_loses_events_not_hops(gateway, tmp_path) -> None:
    client = await gateway(sections=uncached())
    before, _ = await scrape(client)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}")  # no tables
    try:
        recorder = EventRecorder(create_sessionmaker(events_engine(engine)))
        recorder.record(session_id="s", service="mrejesho", provider="x", kind="start")
        await recorder.flush()
    finally:
        await engine.dispose()
    after, _ = await scrape(client)
    assert delta(before, after, "ussd_session_events_dropped_total", cause="database") == 1
    assert delta(before, after, "ussd_dependency_errors_total", dependency="database") == 1
    assert recorder.pending == 0 and recorder.written == 0


async def test_the_aggregators_end_notice_is_recorded(gateway, database_url: str, db: Database):
    """What the providers' end-of-session callback calls when a citizen hangs up."""
    client = await gateway(database_url=database_url, sections=uncached())
    before, _ = await scrape(client)
    phone = Phone(client)
    await phone.dial()
    client.app[GATEWAY].service.observer.session_ended(
        "africastalking", phone.session_id, "mrejesho", "cancelled"
    )
    await client.app[EVENTS].flush()
    after, _ = await scrape(client)
    assert [(r.kind, r.reason) for r in await events_of(db)][-1] == ("end", "cancelled")
    labels = {"service": "mrejesho", "provider": "africastalking", "reason": "cancelled"}
    assert delta(before, after, "ussd_sessions_ended_total", **labels) == 1


async def test_sqlite_busy_puts_events_off_instead_of_competing(gateway, tmp_path) -> None:
    """A submission holding SQLite's write lock goes first; the events wait for the next flush."""
    client = await gateway(sections=uncached())
    before, _ = await scrape(client)
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    engine = create_engine(url)
    holder = create_engine(url)
    try:
        await upgrade(engine)
        recorder = EventRecorder(create_sessionmaker(events_engine(engine)))
        recorder.record(session_id="s", service="mrejesho", provider="x", kind="start")
        async with holder.connect() as connection:
            await connection.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the lock
            started = asyncio.get_running_loop().time()
            assert await recorder.flush() is False
            assert asyncio.get_running_loop().time() - started < 2  # did not queue 5 s for it
            assert recorder.pending == 1 and recorder.written == 0
            await connection.rollback()
        assert await recorder.flush() is True
        assert recorder.pending == 0 and recorder.written == 1
        async with engine.connect() as connection:  # the process's other writers wait as long
            waits = await connection.exec_driver_sql("PRAGMA busy_timeout")
            assert waits.scalar() == SQLITE_BUSY_TIMEOUT_MS
    finally:
        await engine.dispose()
        await holder.dispose()
    after, _ = await scrape(client)
    assert delta(before, after, "ussd_session_events_dropped_total", cause="database") == 0


async def test_written_events_keep_their_values_and_the_report_counts_them(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's path (COPY on PostgreSQL, executemany on SQLite) stores each value exactly."""
    seeded = funnel_seed()
    engine = create_engine(db.url)
    try:
        recorder = EventRecorder(
            create_sessionmaker(events_engine(engine)), EventSettings(batch_size=7)
        )
        for row in seeded:
            recorder.record(**row)  # type: ignore[arg-type]
        assert await recorder.flush() is True
        assert recorder.written == len(seeded) and recorder.pending == 0
    finally:
        await engine.dispose()
    stored = [tuple(getattr(row, column) for column in COLUMNS) for row in await events_of(db)]
    assert stored == [tuple(row[column] for column in COLUMNS) for row in seeded]
    status, out = await report(monkeypatch, db, "funnel", "--service", "mrejesho", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["sessions"] == 8 and data["outcomes"]["completed"] == 2
    assert [(s["screen"], s["reached"], s["left"]) for s in data["screens"]] == FUNNEL_ROWS


async def test_times_are_stored_as_sqlalchemy_stores_them(db: Database) -> None:
    """The writer's time (naive taken as UTC) is the very value SQLAlchemy's own insert stores:
    on SQLite the same text, which the reports' time ranges compare as text."""
    at = dt.datetime(2026, 11, 20, 8, 0, 0, 123456)
    on_the_second = dt.datetime(2026, 11, 20, 9, 0, 0, tzinfo=dt.UTC)
    await seed(db, [
        {"session_id": "orm", "service": "mrejesho", "provider": "x", "kind": "start",
         "at": at.replace(tzinfo=dt.UTC)},
        {"session_id": "orm", "service": "mrejesho", "provider": "x", "kind": "end",
         "at": on_the_second},
    ])  # fmt: skip
    engine = create_engine(db.url)
    try:
        recorder = EventRecorder(create_sessionmaker(events_engine(engine)))
        recorder.record(session_id="s", service="mrejesho", provider="x", kind="start", at=at)
        recorder.record(
            session_id="s", service="mrejesho", provider="x", kind="end", at=on_the_second
        )
        await recorder.flush()
    finally:
        await engine.dispose()
    rows = await events_of(db)
    assert [row.at for row in rows] == [at.replace(tzinfo=dt.UTC), on_the_second] * 2
    async with db.engine.connect() as connection:
        distinct = await connection.exec_driver_sql("SELECT DISTINCT at FROM session_events")
        assert len(distinct.all()) == 2


async def test_a_refused_batch_is_counted_and_the_next_one_written(
    gateway, database_url: str, tmp_path
) -> None:
    """A batch the database refuses (no table yet; a row breaking a constraint mid-batch) is
    dropped and counted; the connection it happened on still writes the next batch."""
    client = await gateway(
        sections=uncached(), database_url=databases.sqlite_url(tmp_path / "app.db")
    )
    before, _ = await scrape(client)
    engine = create_engine(database_url)  # an empty database: not migrated
    try:
        recorder = EventRecorder(create_sessionmaker(events_engine(engine)))
        recorder.record(session_id="s1", service="mrejesho", provider="x", kind="start")
        recorder.record(session_id="s1", service="mrejesho", provider="x", kind="end")
        assert await recorder.flush() is True
        assert recorder.pending == 0 and recorder.written == 0
        migrator = create_engine(database_url)
        await upgrade(migrator)
        await migrator.dispose()
        recorder.record(session_id="s2", service="mrejesho", provider="x", kind="start")
        recorder.record(session_id="s2", service="mrejesho", provider="x", kind="bogus")
        assert await recorder.flush() is True
        assert recorder.pending == 0 and recorder.written == 0
        recorder.record(session_id="s3", service="mrejesho", provider="x", kind="start")
        assert await recorder.flush() is True
        assert recorder.written == 1
    finally:
        await engine.dispose()
    after, _ = await scrape(client)
    assert delta(before, after, "ussd_session_events_dropped_total", cause="database") == 4
    assert delta(before, after, "ussd_dependency_errors_total", dependency="database") == 2


async def test_events_survive_a_lost_postgresql_connection(db: Database) -> None:
    """The writer's pooled connection killed between flushes (a database restart, a proxy's idle
    timeout) is replaced before the next batch: nothing is dropped."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's connections only")
    engine = create_engine(db.url)
    try:
        recorder = EventRecorder(create_sessionmaker(events_engine(engine)))
        recorder.record(session_id="s", service="mrejesho", provider="x", kind="start")
        assert await recorder.flush() is True
        async with db.engine.connect() as admin:
            killed = await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            assert any(row[0] for row in killed)
        recorder.record(session_id="s", service="mrejesho", provider="x", kind="end")
        assert await recorder.flush() is True
        assert recorder.written == 2
    finally:
        await engine.dispose()
    assert [row.kind for row in await events_of(db)] == ["start", "end"]
