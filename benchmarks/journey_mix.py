"""Drive a running gateway with a mix of citizens, as Africa's Talking would, then report.

Each simulated citizen has their own number and one of several behaviours: gives feedback to the
end, cancels at the confirm screen, hangs up somewhere along the way, tracks a (wrong) reference,
or switches language and leaves. Bounded in count and time; loopback only.

    ussd-gateway serve --port 8391 &
    python benchmarks/journey_mix.py --url http://127.0.0.1:8391/ussd/africastalking --citizens 400
    ussd-gateway report funnel --service mrejesho --since 1h
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid

import aiohttp

MESSAGES = [
    "Huduma ilichelewa sana leo asubuhi",
    "Nashukuru kwa huduma nzuri ya haraka",
    "Naomba maelezo kuhusu ada mpya ya leseni",
]


def plan(rng: random.Random) -> list[str]:
    """The entries one citizen types after dialling."""
    feedback = [
        "1",
        str(rng.randint(1, 5)),
        str(rng.randint(1, 6)),
        rng.choice(MESSAGES),
    ]
    named = rng.random() < 0.4
    feedback += ["1", "Amina Juma"] if named else ["2"]
    roll = rng.random()
    if roll < 0.55:
        return [*feedback, "1"]  # sent
    if roll < 0.65:
        return [*feedback, "2"]  # cancelled at confirm
    if roll < 0.85:
        return feedback[: rng.randint(0, len(feedback) - 1)]  # hangs up on the way
    if roll < 0.95:
        return ["2", "ABCD2345"]  # tracks a reference that does not exist, then leaves
    return ["3", "2"]  # switches to English and leaves


async def citizen(
    http: aiohttp.ClientSession, url: str, number: int, rng: random.Random, latencies: list[float]
) -> None:
    session_id = f"ATUid_{uuid.uuid4().hex}"
    entries: list[str] = []
    steps = [None, *plan(rng)]
    for entry in steps:
        if entry is not None:
            entries.append(entry)
        form = {
            "sessionId": session_id,
            "serviceCode": "*152*00*1#",  # the government directory's e-Mrejesho
            "phoneNumber": f"+2557{number:08d}",  # one number per citizen: no resume offers
            "networkCode": "64004",
            "text": "*".join(entries),
        }
        started = time.perf_counter()
        async with http.post(url, data=form) as response:
            body = await response.text()
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or body.startswith("END"):
            return


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080/ussd/africastalking")
    parser.add_argument("--citizens", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    latencies: list[float] = []
    # numbers differ from run to run, so no citizen is offered a previous run's dropped journey
    first = args.seed * 100_000
    queue = list(range(first, first + min(args.citizens, 100_000)))
    started = time.perf_counter()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:

        async def worker() -> None:
            while queue:
                number = queue.pop()
                await citizen(http, args.url, number, random.Random(rng.random()), latencies)

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    print(
        f"{args.citizens} citizens, {len(ms)} hops in {elapsed:.1f}s: "
        f"{len(ms) / elapsed:.0f} hops/s"
    )
    print(
        f"latency ms: p50 {statistics.median(ms):.1f}  p95 {ms[int(len(ms) * 0.95)]:.1f}  "
        f"p99 {ms[int(len(ms) * 0.99)]:.1f}  max {ms[-1]:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
