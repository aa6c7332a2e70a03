"""``ussd-gateway audit``: command-line retries and purges are recorded, and read back filtered."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import subprocess
import sys

from sqlalchemy import update

from tests.conftest import ROOT
from tests.forwarding.conftest import submit
from tests.support.databases import Database
from ussd_gateway.adapters.db.models import Submission

BIN = sys.executable.rsplit("/", 1)[0]
ME = f"cli:{getpass.getuser()}"


async def gateway(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATABASE_URL"] = db.url
    return await asyncio.to_thread(
        subprocess.run,
        [f"{BIN}/ussd-gateway", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def entries(db: Database, *filters: str) -> list[dict[str, object]]:
    done = await gateway(db, "audit", "--json", *filters)
    assert done.returncode == 0, done.stderr
    return [
        {k: row[k] for k in ("actor", "action", "target", "result")}
        for row in reversed(json.loads(done.stdout))
    ]


async def test_retries_and_purges_on_the_command_line_are_audited(db: Database) -> None:
    (failed,) = await submit(db)
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(Submission).where(Submission.reference == failed).values(status="failed")
        )
    assert (await gateway(db, "submissions", "retry", failed)).returncode == 0
    assert (await gateway(db, "submissions", "retry", "ZCFG7HU3")).returncode == 1  # unknown
    assert (await gateway(db, "purge", "--older-than", "30d")).returncode == 0
    assert (await gateway(db, "purge", "--older-than", "30d", "--dry-run")).returncode == 0

    assert await entries(db) == [
        {"actor": ME, "action": "retry", "target": failed, "result": "ok"},
        {"actor": ME, "action": "retry", "target": "ZCFG7HU3", "result": "not_retryable"},
        {
            "actor": ME,
            "action": "purge",
            "target": "*",
            "result": "ok",
        },  # a dry run changes nothing
    ]
    purges = await entries(db, "--action", "purge", "--owner", ME, "--since", "1h")
    assert [e["action"] for e in purges] == ["purge"]
    assert await entries(db, "--since", "2999-01-01") == []

    table = await gateway(db, "audit", "--action", "retry", "--limit", "1")
    assert table.returncode == 0, table.stderr
    header, line = table.stdout.splitlines()
    assert header.split() == ["AT", "WHO", "ACTION", "TARGET", "SERVICE", "RESULT", "DETAIL"]
    assert line.split()[2:6] == [ME, "retry", "ZCFG7HU3", "-"]

    bad = await gateway(db, "audit", "--since", "yesterday")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--since" in bad.stderr
