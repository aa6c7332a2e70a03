"""``purge`` clears personal data of old submissions and keeps what statistics need."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.support.databases import Database
from ussd_gateway.adapters.db.models import Submission, utcnow
from ussd_gateway.adapters.submissions.purge import parse_age, purge
from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.domain.submissions import SubmissionDraft

ROOT = Path(__file__).resolve().parents[2]
YEAR = dt.timedelta(days=365)


def draft(key: str, *, phone: str | None = "+255712345678", **data: str) -> SubmissionDraft:
    return SubmissionDraft(
        idempotency_key=key,
        service="mrejesho",
        backend="feedback",
        channel="ussd",
        language="sw",
        data=dict(data),
        phone=phone,
        anonymous=phone is None,
        kind="complaint",
    )


async def seed(db: Database) -> dict[str, str]:
    """Two old submissions (one with personal data, one anonymous without) and a recent one."""
    store = SubmissionStore(sessionmaker=db.sessionmaker)
    refs = {
        "old": await store.submit(draft("old", body="Kodi", name="Amina Juma", institution="tra")),
        "old_anonymous": await store.submit(draft("anon", phone=None, body="Maji")),
        "new": await store.submit(draft("new", body="Barabara", name="Juma")),
    }
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(Submission)
            .where(Submission.reference.in_([refs["old"], refs["old_anonymous"]]))
            .values(created_at=utcnow() - dt.timedelta(days=400))
        )
    return refs


async def rows(db: Database) -> dict[str, Submission]:
    async with db.sessionmaker() as session:
        found = (await session.execute(select(Submission))).scalars().all()
    return {row.reference: row for row in found}


async def test_purge_clears_numbers_and_personal_answers(db: Database) -> None:
    refs = await seed(db)
    before = await rows(db)

    dry = await purge(db.sessionmaker, older_than=YEAR, dry_run=True)
    assert (dry.examined, dry.purged, dry.numbers, dry.answers) == (2, 1, 1, 1)
    assert {r: (row.phone, row.data) for r, row in (await rows(db)).items()} == {
        r: (row.phone, row.data) for r, row in before.items()
    }

    done = await purge(db.sessionmaker, older_than=YEAR)
    assert (done.examined, done.purged, done.numbers, done.answers) == (2, 1, 1, 1)
    after = await rows(db)
    old = after[refs["old"]]
    assert old.phone is None and old.data == {"body": "Kodi", "institution": "tra"}
    assert (old.reference, old.status, old.kind, old.service) == (
        refs["old"],
        "pending",
        "complaint",
        "mrejesho",
    )
    assert after[refs["old_anonymous"]].data == {"body": "Maji"}
    new = after[refs["new"]]
    assert new.phone == "+255712345678" and new.data["name"] == "Juma"

    again = await purge(db.sessionmaker, older_than=YEAR)
    assert (again.examined, again.purged) == (2, 0)

    # an operator may call more answers personal, e.g. the free text
    more = await purge(db.sessionmaker, older_than=YEAR, personal_keys=("name", "body"))
    assert (more.purged, more.answers) == (2, 2)
    assert (await rows(db))[refs["old"]].data == {"institution": "tra"}


async def test_purge_command(db: Database, tmp_path: Path) -> None:
    refs = await seed(db)
    env = {**os.environ, "DATABASE_URL": db.url, "USSD_CONFIG": str(ROOT / "config/gateway.yaml")}
    binary = str(Path(sys.executable).parent / "ussd-gateway")

    async def run(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            binary, "purge", *args, env=env, stdout=asyncio.subprocess.PIPE, cwd=tmp_path
        )
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode()

    code, out = await run("--dry-run")
    assert code == 0 and "would purge 1 (1 numbers, 1 personal answers)" in out
    assert (await rows(db))[refs["old"]].phone is not None
    code, out = await run("--older-than", "500d")
    assert code == 0 and ": 0; purged 0" in out
    code, out = await run()  # the configured retention: 365 days
    assert code == 0 and "purged 1 (1 numbers, 1 personal answers)" in out
    assert (await rows(db))[refs["old"]].phone is None


def test_ages() -> None:
    assert parse_age("365d") == dt.timedelta(days=365)
    assert parse_age("2w") == dt.timedelta(days=14)
    assert parse_age("36h") == dt.timedelta(hours=36)
    assert parse_age("90") == dt.timedelta(days=90)
    with pytest.raises(ValueError):
        parse_age("a year")
