"""CPU per session-store transaction on Redis (lock + read, write + unlock), no HTTP, no engine.

Run: ``python -m benchmarks.store_transactions`` (20 concurrent sessions by default, on a
private redis-server it starts on a free port; ``--redis-url`` only for an empty database).
Prints us of this process's CPU per transaction, three times; run it under two builds to
compare the Redis store alone. 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from benchmarks.private_redis import benchmark_redis
from ussd_gateway.adapters.sessions import create_store
from ussd_gateway.domain.session import Session
from ussd_gateway.http.eventloop import new_event_loop


async def run(redis_url: str, transactions: int, concurrency: int) -> None:
    store = await create_store(redis_url, ttl=180, resume_window=300)

    async def worker(w: int) -> None:
        for i in range(transactions // concurrency):
            key = f"bench:w{w}-{i % 50}"
            async with store.transaction(key) as tx:
                session = tx.session or Session(
                    key=key, service="bench", phone="+255712000000", language="sw", screen="start"
                )
                session = session.copy()
                session.hops += 1
                tx.session = session

    try:
        await asyncio.gather(*(worker(w) for w in range(concurrency)))  # warm-up
        for _ in range(3):
            started = time.process_time()
            await asyncio.gather(*(worker(w) for w in range(concurrency)))
            spent = time.process_time() - started
            print(f"{spent * 1e6 / transactions:.0f} us CPU per transaction", flush=True)
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=None, help="an empty database; default: private")
    parser.add_argument("-n", "--transactions", type=int, default=4000)
    parser.add_argument("-c", "--concurrency", type=int, default=20)
    args = parser.parse_args()
    loop = new_event_loop()
    try:
        with benchmark_redis(args.redis_url) as url:
            loop.run_until_complete(run(url, args.transactions, args.concurrency))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
