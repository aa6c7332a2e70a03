"""Load generator speaking Africa's Talking: whole journeys at a concurrency, each reply checked.

Each of ``--concurrency`` workers walks journeys one after the other (unique session id and phone
number each, cumulative ``text``) until ``--sessions`` journeys are done or ``--duration`` seconds
have passed. Every reply must be 200, ``CON``/``END`` as expected, hold the expected screen's
marker, and each journey must end with one reference no other journey got. Prints one JSON line.
Only 127.0.0.1/localhost targets are accepted.

Run: ``python -m benchmarks.loadgen --url http://127.0.0.1:8080 --journey mrejesho -c 50 -n 2000``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

from benchmarks.journey import JOURNEYS, REFERENCE

PATH = "/ussd/africastalking"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    journeys: int = 0
    references: set[str] = field(default_factory=set)
    duplicates: int = 0

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:200])


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def walk(
    http: aiohttp.ClientSession,
    url: str,
    code: str,
    steps: tuple[tuple[str | None, bool, str], ...],
    serial: int,
    stats: Stats,
) -> None:
    """One whole journey; stops at the first wrong reply (counted as one error)."""
    session_id = f"ATUid_bench_{os.getpid()}_{serial}"
    # unique across runs too: a journey cut short earlier would be offered back to its number
    phone = f"+255{serial % 100_000_000_000:011d}"
    entries: list[str] = []
    for entry, ends, marker in steps:
        if entry is not None:
            entries.append(entry)
        form = {
            "sessionId": session_id,
            "serviceCode": code,
            "phoneNumber": phone,
            "networkCode": "64004",
            "text": "*".join(entries),
        }
        started = time.perf_counter()
        try:
            async with http.post(url, data=form) as response:
                body = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            stats.error(f"{type(exc).__name__}: {exc}")
            return
        stats.latencies.append(time.perf_counter() - started)
        prefix = "END " if ends else "CON "
        if status != 200 or not body.startswith(prefix) or marker not in body:
            stats.error(
                f"hop {len(entries)}: status {status}, expected {prefix}…{marker!r}: {body!r}"
            )
            return
        if ends:
            found = REFERENCE.search(body)
            if found is None:
                stats.error(f"no reference in {body!r}")
                return
            if found.group(1) in stats.references:
                stats.duplicates += 1
                stats.error(f"reference {found.group(1)} given twice")
                return
            stats.references.add(found.group(1))
    stats.journeys += 1


async def run(
    base_url: str, journey: str, concurrency: int, sessions: int, duration: float
) -> dict[str, object]:
    code, steps = JOURNEYS[journey]
    url = base_url.rstrip("/") + PATH
    stats = Stats()
    counter = iter(range(sessions))
    deadline = time.perf_counter() + duration
    run_id = int(time.time() * 1000) % 10_000_000

    async def worker(http: aiohttp.ClientSession) -> None:
        for serial in counter:
            if time.perf_counter() > deadline:
                return
            await walk(http, url, code, steps, run_id * 1_000_000 + serial, stats)

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ordered = sorted(stats.latencies)
    ms = 1000.0
    return {
        "client": "loadgen",
        "journey": journey,
        "concurrency": concurrency,
        "journeys": stats.journeys,
        "hops": len(ordered),
        "seconds": round(elapsed, 2),
        "hops_per_s": round(len(ordered) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(ordered, 0.50) * ms, 2),
        "p90_ms": round(percentile(ordered, 0.90) * ms, 2),
        "p99_ms": round(percentile(ordered, 0.99) * ms, 2),
        "max_ms": round((ordered[-1] if ordered else 0.0) * ms, 2),
        "errors": stats.errors,
        "distinct_references": len(stats.references),
        "error_samples": stats.error_samples,
    }


def check_local(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing to load {host or url!r}: benchmarks only target 127.0.0.1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--journey", choices=sorted(JOURNEYS), default="mrejesho")
    parser.add_argument("-c", "--concurrency", type=int, default=50)
    parser.add_argument("-n", "--sessions", type=int, default=2000, help="journeys to walk at most")
    parser.add_argument("-d", "--duration", type=float, default=30.0, help="seconds at most")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_local(args.url)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(
        run(args.url, args.journey, args.concurrency, args.sessions, args.duration)
    )
    print(json.dumps(result), flush=True)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
