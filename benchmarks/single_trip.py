"""The one-trip hop (``sessions.single_trip``) on and off, in one process, without HTTP.

Run: ``python -m benchmarks.single_trip --redis-url redis://127.0.0.1:6379/15`` (a fresh SQLite
file unless ``--database-url``). Walks the bench journey (or ``--journey mrejesho``) with
``--concurrency`` journeys at a time through ``HopService.handle`` on real Redis and SQL,
alternating the setting ``--rounds`` times; prints CPU ms per hop and the script calls per
journey (``INFO commandstats``: the whole server's, so exact only on a Redis nothing else uses)
for each run, then the medians. 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

from benchmarks.journey import JOURNEYS
from ussd_gateway.app import load_definitions
from ussd_gateway.db.engine import create_engine, create_sessionmaker
from ussd_gateway.db.migrate import upgrade
from ussd_gateway.engine.runner import Engine
from ussd_gateway.hops import HopService
from ussd_gateway.providers.base import UssdRequest
from ussd_gateway.routing import ServiceRouter
from ussd_gateway.sessions import create_store
from ussd_gateway.settings import load_settings
from ussd_gateway.submissions.store import SubmissionStore

CONFIG = Path(__file__).resolve().parent / "config" / "gateway.yaml"


async def scripts(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return sum(stats.get(f"cmdstat_{n}", {}).get("calls", 0) for n in ("evalsha", "eval"))


async def one_run(
    redis_url: str, database_url: str, single_trip: bool, journeys: int, concurrency: int, name: str
) -> tuple[float, float]:
    """CPU ms per hop and script calls per journey, with the setting as given."""
    settings = load_settings(CONFIG, env={})
    store = await create_store(redis_url, ttl=180, resume_window=300, single_trip=single_trip)
    engine = create_engine(database_url)
    await upgrade(engine)
    hops = HopService(
        engine=Engine(ports=SubmissionStore(sessionmaker=create_sessionmaker(engine))),
        store=store,
        router=ServiceRouter(settings.service_codes, load_definitions(settings)),
        settings=settings,
    )
    code, steps = JOURNEYS[name]
    stamp = time.time_ns()

    async def walk(n: int) -> None:
        entries: list[str] = []
        for entry, ends, marker in steps:
            if entry is not None:
                entries.append(entry)
            reply = await hops.handle(
                UssdRequest(
                    provider="africastalking",
                    session_id=f"trip-{stamp}-{n}",
                    service_code=code,
                    phone=f"+2557{n % 10**8:08d}",
                    network="64004",
                    text="*".join(entries),
                )
            )
            assert reply.end == ends and marker in reply.text, reply

    async def walkers(first: int, count: int) -> None:
        queue = iter(range(first, first + count))
        await asyncio.gather(*(_drain(queue, walk) for _ in range(concurrency)))

    await walkers(0, concurrency * 2)  # warm caches, templates, connections
    admin = aioredis.from_url(redis_url)
    calls = await scripts(admin)
    started = time.process_time()
    await walkers(10**6, journeys)
    spent = time.process_time() - started
    calls = await scripts(admin) - calls
    await admin.aclose()
    await store.close()
    await engine.dispose()
    return spent * 1000 / (journeys * len(steps)), calls / journeys


async def _drain(queue: object, walk: object) -> None:
    for n in queue:  # type: ignore[attr-defined]
        await walk(n)  # type: ignore[operator]


async def run(args: argparse.Namespace, database_url: str) -> None:
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(args.rounds):
        for setting in (False, True):
            cpu, calls = await one_run(
                args.redis_url, database_url, setting, args.journeys, args.concurrency, args.journey
            )
            results[setting].append((cpu, calls))
            print(f"single_trip={setting!s:5} {cpu:.3f} ms CPU/hop, {calls:.1f} scripts/journey")
    for setting, rows in results.items():
        cpu = statistics.median(r[0] for r in rows)
        calls = statistics.median(r[1] for r in rows)
        print(f"median single_trip={setting!s:5} {cpu:.3f} ms CPU/hop, {calls:.1f} scripts/journey")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--journey", choices=sorted(JOURNEYS), default="bench")
    parser.add_argument("-n", "--journeys", type=int, default=1000)
    parser.add_argument("-c", "--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database_url or f"sqlite+aiosqlite:///{tmp}/single_trip.db"
        asyncio.run(run(args, database))


if __name__ == "__main__":
    main()
