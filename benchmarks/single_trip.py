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

import redis.asyncio as aioredis

from benchmarks.inprocess import hop_service, hops_per_journey, walk
from benchmarks.journey import JOURNEYS


async def scripts(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return sum(stats.get(f"cmdstat_{n}", {}).get("calls", 0) for n in ("evalsha", "eval"))


async def one_run(
    redis_url: str, database_url: str, single_trip: bool, journeys: int, concurrency: int, name: str
) -> tuple[float, float]:
    """CPU ms per hop and script calls per journey, with the setting as given."""
    stamp = time.time_ns()
    async with hop_service(redis_url, database_url, single_trip=single_trip) as hops:

        async def one(n: int) -> None:
            await walk(hops, name, f"trip-{stamp}-{n}", n)

        async def walkers(first: int, count: int) -> None:
            queue = iter(range(first, first + count))
            await asyncio.gather(*(_drain(queue, one) for _ in range(concurrency)))

        await walkers(0, concurrency * 2)  # warm caches, templates, connections
        admin = aioredis.from_url(redis_url)
        calls = await scripts(admin)
        started = time.process_time()
        await walkers(10**6, journeys)
        spent = time.process_time() - started
        calls = await scripts(admin) - calls
        await admin.aclose()
    return spent * 1000 / (journeys * hops_per_journey(name)), calls / journeys


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
