"""``ussd-gateway report funnel|summary`` on seeded sessions: exact counts, table, JSON, PNG."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from tests.conftest import ROOT
from tests.observe.helpers import journey, seed
from tests.support.databases import Database
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.cli.main import main

NOW = dt.datetime.now(dt.UTC)
HOUR_AGO = NOW - dt.timedelta(hours=1)


async def report(monkeypatch: pytest.MonkeyPatch, db: Database, *args: str) -> tuple[int, str]:
    """Run the real command (in a thread: it runs its own event loop) and capture stdout."""
    import contextlib
    import io

    monkeypatch.setenv("DATABASE_URL", db.url)
    out = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out):
            return main(["--config", str(ROOT / "config" / "gateway.yaml"), "report", *args])

    status = await asyncio.to_thread(run)
    return status, out.getvalue()


FUNNEL_SEED = (
    journey("a", ["home", "kind", "institution", "body", "identify", "confirm", "done"],
            start=HOUR_AGO, end="completed")
    + journey("b", ["home", "kind", "institution", "body", "identify", "name", "confirm",
                    "cancelled"], start=HOUR_AGO, end="completed")
    + journey("c", ["home", "kind", "institution"], start=HOUR_AGO)  # timed out
    + journey("d", ["home", "kind", "institution", "body"], start=HOUR_AGO)  # timed out
    + journey("e", ["home", "kind"], start=HOUR_AGO, end="error")
    + journey("f", ["home"], start=HOUR_AGO)  # timed out
    + journey("j", ["home", "track_ref"], start=HOUR_AGO, end="cancelled")
    + journey("h", ["home", "kind"], start=HOUR_AGO, service="other")
    + journey("i", ["home"], start=NOW - dt.timedelta(days=8))  # before the period
)  # fmt: skip


def funnel_seed() -> list[dict[str, object]]:
    """FUNNEL_SEED and a journey still in progress, dated when the test runs (not at import:
    a long suite would otherwise age it past the session lifetime into "timed out")."""
    in_progress = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20)
    return [*FUNNEL_SEED, *journey("g", ["home", "kind"], start=in_progress)]


FUNNEL_ROWS = [
    # screen, reached, left
    ("home", 8, 1),
    ("kind", 6, 1),
    ("institution", 4, 1),
    ("body", 3, 1),
    ("identify", 2, 0),
    ("name", 1, 0),
    ("confirm", 2, 0),
    ("done", 1, 0),
    ("cancelled", 1, 0),
    ("track_ref", 1, 1),
    ("track_result", 0, 0),
    ("track_missing", 0, 0),
    ("track_later", 0, 0),
    ("language", 0, 0),
]


async def test_funnel_json_is_exact(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed(db, funnel_seed())
    status, out = await report(monkeypatch, db, "funnel", "--service", "mrejesho", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["service"] == "mrejesho"
    assert data["sessions"] == 8
    assert data["outcomes"] == {
        "completed": 2, "cancelled": 1, "error": 1, "timed_out": 3, "to_directory": 0,
        "in_progress": 1,
    }  # fmt: skip
    assert [(s["screen"], s["reached"], s["left"]) for s in data["screens"]] == FUNNEL_ROWS


async def test_funnel_table_and_chart(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await seed(db, funnel_seed())
    chart = tmp_path / "funnel.png"
    status, out = await report(
        monkeypatch, db, "funnel", "--service", "mrejesho", "--since", "7d", "--png", str(chart)
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("Funnel of mrejesho: sessions started since ")
    assert lines[1] == (
        "sessions 8 · completed 2 (25.0%) · cancelled 1 · error 1 · timed out 3 · in progress 1"
    )
    table = [line.split() for line in lines[5:]]
    assert [(r[0], int(r[1]), int(r[2])) for r in table] == FUNNEL_ROWS
    assert table[0][3] == "12.5%" and table[2][3] == "25.0%" and table[-1][3] == "-"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert chart.stat().st_size > 10_000


async def test_funnel_period_is_honoured(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed(db, funnel_seed())
    _, out = await report(monkeypatch, db, "funnel", "--service", "mrejesho", "--since", "9d",
                          "--json")  # fmt: skip
    assert json.loads(out)["sessions"] == 9  # now with "i", eight days old (timed out at home)
    status, _ = await report(monkeypatch, db, "funnel", "--service", "mrejesho", "--since", "soon")
    assert status == 2


def day(offset: int, hour: int = 8) -> dt.datetime:
    today = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=offset) + dt.timedelta(hours=hour)


SUMMARY_SEED = (
    journey("x1", ["home", "done"], start=day(2), step=60, end="completed")
    + journey("x2", ["home", "done"], start=day(2, 9), step=120, end="completed")
    + journey("x3", ["home", "done"], start=day(2, 10), step=30, end="completed")
    + journey("x4", ["home"], start=day(2, 11))
    + journey("y1", ["home", "done"], start=day(1), step=40, end="completed")
    + journey("y2", ["home"], start=day(1, 9), end="error")
)


async def seed_submissions(db: Database, *created: dt.datetime) -> None:
    rows = [
        {"reference": f"ABCDEF{n:02d}", "idempotency_key": f"k{n}", "service": "mrejesho",
         "backend": "feedback", "channel": "ussd", "language": "sw", "data": {},
         "created_at": at}
        for n, at in enumerate(created)
    ]  # fmt: skip
    async with db.sessionmaker() as session, session.begin():
        await session.execute(insert(Submission), rows)


async def test_summary_is_exact(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed(db, SUMMARY_SEED)
    await seed_submissions(db, day(2), day(2, 12), day(1), day(10))
    status, out = await report(monkeypatch, db, "summary", "--json")
    assert status == 0
    assert json.loads(out)["days"] == [
        {"day": day(2).date().isoformat(), "sessions": 4, "completed": 3,
         "completion_rate": 0.75, "timed_out": 1, "median_seconds_to_complete": 60.0,
         "submissions": 2, "delivered": 0},
        {"day": day(1).date().isoformat(), "sessions": 2, "completed": 1,
         "completion_rate": 0.5, "timed_out": 0, "median_seconds_to_complete": 40.0,
         "submissions": 1, "delivered": 0},
    ]  # fmt: skip

    status, out = await report(monkeypatch, db, "summary")
    assert status == 0
    lines = out.splitlines()
    assert lines[1].split() == [
        "day", "sessions", "completed", "rate", "timed", "out", "median", "s", "submitted",
        "delivered",
    ]  # fmt: skip
    assert lines[3].split() == [day(2).date().isoformat(), "4", "3", "75.0%", "1", "60", "2", "0"]
    assert lines[4].split() == [day(1).date().isoformat(), "2", "1", "50.0%", "0", "40", "1", "0"]


async def test_summary_counts_deliveries(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed_submissions(db, day(2), day(2, 12), day(1))
    async with db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE submissions SET delivered_at = created_at WHERE reference = 'ABCDEF00'")
        )
    status, out = await report(monkeypatch, db, "summary", "--json")
    assert status == 0
    assert [(d["submissions"], d["delivered"]) for d in json.loads(out)["days"]] == [(2, 1), (1, 0)]


async def test_an_unknown_service_is_named_not_reported_empty(
    db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed(db, funnel_seed())
    for kind in ("funnel", "summary"):
        status, out = await report(monkeypatch, db, kind, "--service", "nope")
        assert status == 2 and out == ""
        (line,) = capsys.readouterr().err.splitlines()
        prefix = "unknown service 'nope': choose one of "
        assert line.startswith(prefix)
        assert {"mrejesho", "egov_meeting", "serikali"} <= set(line[len(prefix) :].split(", "))
    # a service whose file is gone still has its sessions to show
    status, out = await report(monkeypatch, db, "funnel", "--service", "other", "--json")
    assert status == 0 and json.loads(out)["sessions"] == 1


def test_the_chart_library_is_an_extra_named_when_missing(tmp_path: Path) -> None:
    import subprocess
    import sys
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("matplotlib")]
    assert [d for d in project["optional-dependencies"]["report"] if d.startswith("matplotlib")]
    # an install without the extra: matplotlib cannot be imported
    (tmp_path / "matplotlib.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'matplotlib'\", name='matplotlib')\n"
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ussd-gateway"), "report", "funnel", "--service",
         "mrejesho", "--png", str(tmp_path / "funnel.png")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "DATABASE_URL": "sqlite+aiosqlite:///"
             + str(tmp_path / "gateway.db")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "report funnel --png needs matplotlib: pip install 'ussd-gateway[report]'"
    ]
