"""What the guard costs a hop: dials through the real app with limits off and on.

Usage: .venv/bin/python -m benchmarks.guard_hops [--hops 2000] [--redis | --redis-url URL]
(``--redis``: also on a private redis-server on a free port; ``--redis-url``: an empty database)
Prints hops/s and latency percentiles for each configuration (same process, sequential hops,
in-process HTTP through aiohttp's test server on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient, TestServer

from benchmarks.private_redis import benchmark_redis
from ussd_gateway.config.settings import read_settings
from ussd_gateway.http.app import create_app

ROOT = Path(__file__).resolve().parents[1]

CONFIGS: dict[str, dict[str, Any]] = {
    "guard off": {
        "limits": {"phone": {"requests": 0}, "provider": {"requests": 0}, "hop_deadline": 0}
    },
    "limits + deadline": {
        "limits": {
            "phone": {"requests": 10**9, "window": 60},
            "provider": {"requests": 10**9, "window": 1},
            "hop_deadline": 2.5,
        }
    },
}


async def run(name: str, sections: dict[str, Any], hops: int, redis_url: str | None) -> None:
    path = ROOT / "config" / "gateway.yaml"
    document = {**yaml.safe_load(path.read_text(encoding="utf-8")), **sections}
    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(
            read_settings(document, env={}, path=path),
            redis_url=redis_url,
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
        )
        async with TestClient(TestServer(create_app(settings))) as client:
            latencies = []
            for i in range(hops):
                form = {
                    "sessionId": f"bench-{i}",
                    "serviceCode": "*152*00*1#",  # the government directory's e-Mrejesho
                    "phoneNumber": f"+2557{i % 1000:08d}",
                    "networkCode": "64004",
                    "text": "",
                }
                started = time.perf_counter()
                response = await client.post("/ussd/africastalking", data=form)
                await response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                assert response.status == 200
    total = sum(latencies) / 1000
    q = statistics.quantiles(latencies, n=100)
    store = "redis" if redis_url else "memory"
    print(f"{name:18} {store:6} {hops / total:7.0f} hops/s  p50 {q[49]:.2f} ms  p99 {q[98]:.2f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hops", type=int, default=2000)
    store = parser.add_mutually_exclusive_group()
    store.add_argument("--redis", action="store_true", help="also on a private redis-server")
    store.add_argument("--redis-url", default=None, help="also on this empty database")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        redis_url = None
        if args.redis or args.redis_url:
            redis_url = stack.enter_context(benchmark_redis(args.redis_url))
        for store_url in [None, redis_url] if redis_url else [None]:
            await run("(warm-up)", CONFIGS["guard off"], args.hops // 4, store_url)
            for _ in range(2):
                for name, sections in CONFIGS.items():
                    await run(name, sections, args.hops, store_url)


if __name__ == "__main__":
    asyncio.run(main())
