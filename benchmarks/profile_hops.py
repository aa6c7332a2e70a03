"""Where a hop's CPU goes, without HTTP: the hop path in a loop on real Redis and SQL.

Run: ``python -m benchmarks.profile_hops --redis -n 500`` (a private redis-server on a free
port; ``--redis-url`` only for an empty database; neither: the in-process store). Prints CPU ms
per hop, then cProfile's top functions by own time. The database is a fresh
SQLite file unless ``--database-url`` is given. 127.0.0.1 only, like every benchmark here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import tempfile
import time

from benchmarks.inprocess import hop_service, hops_per_journey, walk
from benchmarks.journey import JOURNEYS
from benchmarks.private_redis import benchmark_redis


async def run(
    redis_url: str | None, database_url: str, journeys: int, journey: str, sort: str = "tottime"
) -> None:
    stamp = time.time_ns()
    async with hop_service(redis_url, database_url) as hops:
        for n in range(20):  # warm caches, templates, connections
            await walk(hops, journey, f"prof-{stamp}-{n}", n)
        profiler = cProfile.Profile()
        started = time.process_time()
        profiler.enable()
        for n in range(20, 20 + journeys):
            await walk(hops, journey, f"prof-{stamp}-{n}", n)
        profiler.disable()
        spent = time.process_time() - started
    count = journeys * hops_per_journey(journey)
    print(f"{count} hops, {spent * 1000 / count:.3f} ms CPU per hop (profiler on: inflated)")
    pstats.Stats(profiler).sort_stats(sort).print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store = parser.add_mutually_exclusive_group()
    store.add_argument("--redis", action="store_true", help="a private redis-server")
    store.add_argument("--redis-url", default=None, help="an empty database")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--journey", choices=sorted(JOURNEYS), default="bench")
    parser.add_argument("-n", "--journeys", type=int, default=500)
    parser.add_argument("--sort", default="tottime", help="cProfile order: tottime, cumulative")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        database = args.database_url or f"sqlite+aiosqlite:///{tmp}/profile.db"
        redis_url = None
        if args.redis or args.redis_url:
            redis_url = stack.enter_context(benchmark_redis(args.redis_url))
        asyncio.run(run(redis_url, database, args.journeys, args.journey, args.sort))


if __name__ == "__main__":
    main()
