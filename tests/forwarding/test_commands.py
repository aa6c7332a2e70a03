"""``ussd-gateway submissions list|show|retry`` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.forwarding.conftest import (
    Reply,
    delivery_worker,
    forwarding_config,
    row,
    run_until,
    submit,
)
from tests.support.databases import Database
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger

BIN = Path(sys.executable).parent


async def cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATABASE_URL"] = db.url
    return await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "ussd-gateway"), "submissions", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_list_show_and_retry(db: Database, stand_in):
    stand_in.script.append(Reply(400, {"error": "unknown institution"}))
    (failed,) = await submit(db)
    (delivered,) = await submit(db, anonymous=True)
    ledger = DeliveryLedger(db.sessionmaker)

    async def settled() -> bool:
        return (await ledger.counts()) == {"failed": 1, "delivered": 1}

    await run_until(delivery_worker(forwarding_config(stand_in.url), db.sessionmaker), settled)

    listing = await cli(db, "list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == [
        "REFERENCE", "SERVICE", "BACKEND", "STATUS", "TRIES", "PHONE", "CREATED", "LAST", "ERROR"
    ]  # fmt: skip
    status_column = lines[0].index("STATUS")
    assert {line[status_column:].split()[0] for line in lines[1:]} == {"failed", "delivered"}
    assert "+255712345678" not in listing.stdout
    assert "+2557*****678" in listing.stdout and "anonymous" in listing.stdout
    assert 'HTTP 400: {"error": "unknown institution"}' in listing.stdout

    only_failed = json.loads((await cli(db, "list", "--status", "failed", "--json")).stdout)
    assert [s["reference"] for s in only_failed] == [failed]
    assert only_failed[0]["phone"] == "+2557*****678"

    bogus = await cli(db, "list", "--status", "bogus")
    assert bogus.returncode == 2 and bogus.stdout == ""
    assert bogus.stderr.splitlines() == [
        "unknown status 'bogus': choose one of pending, delivered, failed, dead, "
        "received, in_progress, resolved, rejected, reopened"
    ]

    shown = await cli(db, "show", failed.lower())
    assert shown.returncode == 0, shown.stderr
    assert "status           failed" in shown.stdout
    history = shown.stdout.split("\n\n")[1].splitlines()
    assert history[0].split()[:4] == ["#", "STARTED", "CODE", "OUTCOME"]
    assert history[1].split()[:1] + history[1].split()[3:5] == ["1", "400", "failed"]
    details = json.loads((await cli(db, "show", delivered, "--json")).stdout)
    assert details["status"] == "delivered" and details["remote_id"] == "CASE-1"
    assert [a["outcome"] for a in details["history"]] == ["delivered"]
    assert (await cli(db, "show", "ZCFG7HU3")).returncode == 1

    retried = await cli(db, "retry", failed)
    assert retried.stdout.strip() == f"requeued 1: {failed}"
    assert (await row(db, failed)).status == "pending"
    assert (await cli(db, "retry", "--dead")).stdout.strip() == "nothing to retry"
    refused = await cli(db, "retry", delivered)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"{delivered} is delivered: nothing to retry"
    unknown = await cli(db, "retry", "ZCFG7HU3")
    assert unknown.returncode == 1 and unknown.stderr.strip() == "no submission ZCFG7HU3"
    await run_until(
        delivery_worker(forwarding_config(stand_in.url), db.sessionmaker),
        lambda: _is_delivered(ledger),
    )
    # the retried delivery is the second attempt, not a second "1"
    history = json.loads((await cli(db, "show", failed, "--json")).stdout)["history"]
    assert [(a["attempt"], a["outcome"]) for a in history] == [(1, "failed"), (2, "delivered")]


async def _is_delivered(ledger: DeliveryLedger) -> bool:
    return (await ledger.counts()) == {"delivered": 2}
