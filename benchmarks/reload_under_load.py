"""Hop latency while menus are reloaded: does a reload stall the citizens being served?

Runs the real app on 127.0.0.1 (in-process sessions, a SQLite file in a temporary directory)
with CONCURRENCY citizens walking e-Mrejesho for SECONDS, once without reloads and once with a
``POST /admin/reload`` every INTERVAL seconds, and prints hops/s and latency percentiles.

    .venv/bin/python benchmarks/reload_under_load.py [--seconds 10] [--concurrency 20]
        [--interval 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

from ussd_gateway.config.settings import load_settings
from ussd_gateway.http.app import create_app

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench"
JOURNEY = ("1", "1", "1", "Umeme umekatika siku tatu sasa", "2", "2")
"""A whole journey cancelled at the confirm screen: hops only, no database write to wait on."""


async def citizen(
    session: aiohttp.ClientSession, url: str, number: int, stop: float, latencies: list[float]
) -> None:
    while time.perf_counter() < stop:
        sid, entries = uuid.uuid4().hex, []
        for entry in ("", *JOURNEY):
            if entry:
                entries.append(entry)
            form = {
                "sessionId": sid,
                "serviceCode": "*152*00*1#",  # the government directory's e-Mrejesho
                "phoneNumber": f"+2557{number:08d}",
                "networkCode": "64004",
                "text": "*".join(entries),
            }
            started = time.perf_counter()
            async with session.post(url, data=form) as response:
                body = await response.text()
            latencies.append(time.perf_counter() - started)
            assert response.status == 200 and body.startswith(("CON", "END")), body


async def reloader(session: aiohttp.ClientSession, base: str, stop: float, every: float) -> int:
    done = 0
    while time.perf_counter() + every < stop:
        await asyncio.sleep(every)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with session.post(f"{base}/admin/reload", headers=headers) as response:
            assert response.status == 200, await response.text()
        done += 1
    return done


async def run(seconds: float, concurrency: int, interval: float | None, workdir: Path) -> None:
    settings = dataclasses.replace(
        load_settings(ROOT / "config" / "gateway.yaml", env={"ADMIN_TOKEN": TOKEN}),
        database_url=f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        log_level="WARNING",
    )
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            stop = time.perf_counter() + seconds
            tasks = [
                citizen(session, f"{base}/ussd/africastalking", n, stop, latencies)
                for n in range(concurrency)
            ]
            reloads = reloader(session, base, stop, interval) if interval else asyncio.sleep(0)
            *_, count = await asyncio.gather(*tasks, reloads)
    finally:
        await runner.cleanup()
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    label = f"reload every {interval}s ({count} reloads)" if interval else "no reloads"
    print(
        f"{label:32} {len(ms) / seconds:7.0f} hops/s  p50 {q[49]:6.1f} ms  "
        f"p95 {q[94]:6.1f} ms  p99 {q[98]:6.1f} ms  max {ms[-1]:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.seconds, args.concurrency, None, Path(tmp)))
        asyncio.run(run(args.seconds, args.concurrency, args.interval, Path(tmp)))


if __name__ == "__main__":
    main()
