"""Backend outage and recovery, end to end with real processes.

1. ``ussd-gateway serve`` (SQLite: with its in-process worker; PostgreSQL: ``--no-worker`` plus
   ``--workers`` separate ``ussd-gateway worker`` processes) with the feedback backend pointing
   at a port where nothing listens.
2. ``--count`` citizens give feedback through the real Africa's Talking webhook (whole journeys).
3. The submissions pile up as ``pending`` while the worker retries with backoff for ``--outage``
   seconds.
4. ``ussd-gateway demo-backend`` starts on that port; we time how long until every submission is
   ``delivered`` and compare with one backoff period (``--max-delay`` * (1 + jitter)).

    .venv/bin/python benchmarks/outage.py --count 200 --outage 30 --max-delay 10
    .venv/bin/python benchmarks/outage.py --postgresql postgresql://postgres@127.0.0.1:5432/postgres

Prints JSON; exit status 0 when every submission arrived within one backoff period. Measured
on a 2-core machine (2026-11-23), 200 submissions through the webhook, backend down 30 s:
SQLite (in-process worker) all 200 delivered 1.75 s after the backend came back, PostgreSQL
(2 worker processes) 1.49 s, against a backoff period of 12 s; the backend saw 200 deliveries
and 0 duplicates. With the shipped policy (5 s doubling to 300 s, down 60 s): 6.9 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker, normalise_url  # noqa: E402
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger  # noqa: E402

JOURNEY = ["1", "1", "2", "Maji hayatoki wiki nzima mtaani kwetu", "2", "1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(directory: Path, backend_port: int, args: argparse.Namespace) -> Path:
    config: dict[str, Any] = yaml.safe_load((ROOT / "config" / "gateway.yaml").read_text())
    config["menus_dir"] = str(ROOT / "menus")
    config["catalogues"] = {k: str(ROOT / v) for k, v in config["catalogues"].items()}
    feedback = config["backends"]["feedback"]
    feedback["url"] = f"http://127.0.0.1:{backend_port}/feedback"
    feedback["timeout"] = 5
    feedback["retry"] = {
        "max_attempts": 1000,
        "base_delay": args.base_delay,
        "backoff_factor": 2,
        "max_delay": args.max_delay,
        "jitter": args.jitter,
        "give_up_after": 86400,
    }
    config["delivery"] = {**config.get("delivery", {}), "poll_interval": 0.5}
    path = directory / "config" / "gateway.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


async def wait_listening(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(300):
        if process.returncode is not None:
            raise SystemExit(f"process exited with {process.returncode}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"nothing listening on {port}")


async def give_feedback(http: aiohttp.ClientSession, url: str, number: int) -> None:
    session = f"ATUid_{uuid.uuid4().hex}"
    phone = f"+2557{number:08d}"
    entries: list[str] = []
    for entry in [None, *JOURNEY]:
        if entry is not None:
            entries.append(entry)
        form = {
            "sessionId": session,
            "serviceCode": "*152*00*1#",  # the government directory's e-Mrejesho
            "phoneNumber": phone,
            "networkCode": "64004",
            "text": "*".join(entries),
        }
        async with http.post(url, data=form) as reply:
            text = await reply.text()
            assert reply.status == 200 and text.startswith(("CON", "END")), text
    assert text.startswith("END Asante"), text


@contextlib.asynccontextmanager
async def fresh_database(server_url: str | None, workdir: Path) -> AsyncIterator[str]:
    """A new SQLite file, or a new database on the PostgreSQL server (dropped afterwards)."""
    if not server_url:
        yield f"sqlite+aiosqlite:///{workdir / 'gateway.db'}"
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    url = make_url(normalise_url(server_url))
    name = f"ussd_outage_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="outage-"))
    async with fresh_database(args.postgresql, workdir) as database_url:
        return await run(args, workdir, database_url)


async def run(args: argparse.Namespace, workdir: Path, database_url: str) -> dict[str, Any]:
    backend_port, web_port = free_port(), free_port()
    config = write_config(workdir, backend_port, args)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKEND_", "DATABASE_"))}
    env |= {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    log = (workdir / "processes.log").open("ab")
    processes: list[asyncio.subprocess.Process] = []

    async def spawn(*argv: str) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            str(BIN / "ussd-gateway"), "--config", str(config), *argv,
            cwd=workdir, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        processes.append(process)
        return process

    sqlite = database_url.startswith("sqlite")
    serve_args = ["serve", "--host", "127.0.0.1", "--port", str(web_port)]
    web = await spawn(*serve_args, *([] if sqlite else ["--no-worker"]))
    await wait_listening(web_port, web)
    if not sqlite:
        for _ in range(args.workers):
            await spawn("worker")

    engine = create_engine(database_url)
    ledger = DeliveryLedger(create_sessionmaker(engine))
    result: dict[str, Any] = {"database": "sqlite" if sqlite else "postgresql"}
    try:
        url = f"http://127.0.0.1:{web_port}/ussd/africastalking"
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            limit = asyncio.Semaphore(20)

            async def one(n: int) -> None:
                async with limit:
                    await give_feedback(http, url, n)

            await asyncio.gather(*(one(n) for n in range(args.count)))
        result["submitted"] = args.count
        result["submit_seconds"] = round(time.monotonic() - started, 2)

        await asyncio.sleep(max(0.0, args.outage - (time.monotonic() - started)))
        result["before_recovery"] = await ledger.counts()
        result["attempts_during_outage"] = await attempts(engine)

        demo = await spawn("demo-backend", "--port", str(backend_port))
        await wait_listening(backend_port, demo)
        back_at = time.monotonic()
        period = args.max_delay * (1 + args.jitter)  # the longest wait between two attempts
        while (await ledger.counts()).get("delivered", 0) < args.count:
            if time.monotonic() - back_at > period * 3 + 30:
                break
            await asyncio.sleep(0.1)
        result["seconds_to_all_delivered"] = round(time.monotonic() - back_at, 2)
        result["one_backoff_period_seconds"] = round(period, 2)
        result["after_recovery"] = await ledger.counts()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{backend_port}/stats") as reply,
        ):
            result["backend"] = await reply.json()
        result["delivered"] = result["after_recovery"].get("delivered", 0)
        result["within_one_backoff_period"] = (
            result["delivered"] == args.count and result["seconds_to_all_delivered"] <= period
        )
    finally:
        await engine.dispose()
        for process in reversed(processes):
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 20)
    result["logs"] = str(workdir / "processes.log")
    return result


async def attempts(engine: Any) -> int:
    from sqlalchemy import func, select

    from ussd_gateway.adapters.db.models import DeliveryAttempt

    async with engine.connect() as connection:
        query = select(func.count()).select_from(DeliveryAttempt)
        return int((await connection.execute(query)).scalar_one())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--outage", type=float, default=30, help="seconds the backend is down")
    parser.add_argument("--base-delay", type=float, default=1.0)
    parser.add_argument("--max-delay", type=float, default=10.0, help="the backoff period")
    parser.add_argument("--jitter", type=float, default=0.2)
    parser.add_argument(
        "--postgresql",
        metavar="SERVER_URL",
        default=None,
        help="run on a fresh database on this PostgreSQL server (default: a fresh SQLite file)",
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (PostgreSQL)")
    outcome = asyncio.run(main(parser.parse_args()))
    print(json.dumps(outcome, indent=2))
    sys.exit(0 if outcome.get("within_one_backoff_period") else 1)
