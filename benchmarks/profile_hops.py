"""Where a hop's CPU goes, without HTTP: HopService.handle in a loop on real Redis and SQL.

Run: ``python -m benchmarks.profile_hops --redis-url redis://127.0.0.1:6379/15 -n 500``
(prints CPU ms per hop, then cProfile's top functions by own time). The database is a fresh
SQLite file unless ``--database-url`` is given. 127.0.0.1 only, like every benchmark here.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

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


async def run(
    redis_url: str | None, database_url: str, journeys: int, journey: str, sort: str = "tottime"
) -> None:
    settings = load_settings(CONFIG, env={})
    definitions = load_definitions(settings)
    store = await create_store(redis_url, ttl=180, resume_window=300)
    engine = create_engine(database_url)
    await upgrade(engine)
    hops = HopService(
        engine=Engine(ports=SubmissionStore(sessionmaker=create_sessionmaker(engine))),
        store=store,
        router=ServiceRouter(settings.service_codes, definitions),
        settings=settings,
    )
    code, steps = JOURNEYS[journey]
    stamp = time.time_ns()

    async def walk(n: int) -> None:
        entries: list[str] = []
        for entry, ends, marker in steps:
            if entry is not None:
                entries.append(entry)
            request = UssdRequest(
                provider="africastalking",
                session_id=f"prof-{stamp}-{n}",
                service_code=code,
                phone=f"+2557{n:08d}",
                network="64004",
                text="*".join(entries),
                cumulative=True,
            )
            reply = await hops.handle(request)
            assert reply.end == ends and marker in reply.text, reply

    for n in range(20):  # warm caches, templates, connections
        await walk(n)
    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for n in range(20, 20 + journeys):
        await walk(n)
    profiler.disable()
    spent = time.process_time() - started
    count = journeys * len(steps)
    print(f"{count} hops, {spent * 1000 / count:.3f} ms CPU per hop (profiler on: inflated)")
    pstats.Stats(profiler).sort_stats(sort).print_stats(25)
    await store.close()
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=None, help="default: the in-process store")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--journey", choices=sorted(JOURNEYS), default="bench")
    parser.add_argument("-n", "--journeys", type=int, default=500)
    parser.add_argument("--sort", default="tottime", help="cProfile order: tottime, cumulative")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database_url or f"sqlite+aiosqlite:///{tmp}/profile.db"
        asyncio.run(run(args.redis_url, database, args.journeys, args.journey, args.sort))


if __name__ == "__main__":
    main()
