"""Submissions through the store's group commit alone: CPU per submission, latency on a busy loop.

Run: ``python -m benchmarks.group_commits --database-url postgresql+asyncpg://…/scratchdb``
(or a SQLite file URL). ``-c`` concurrent submitters each submit one new draft after another.
First CPU per submission with nothing else running (``time.process_time``: this process's
CPU, including aiosqlite's thread), then the submit latency percentiles while ``--busy`` other
tasks each hog the event loop for ``--turn-us`` per turn, as other hops do on a saturated
gateway: there every round trip a batch takes waits for a turn of the loop. Run it under two
builds (each from its own directory) to compare. 127.0.0.1 databases only.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid

from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.migrate import upgrade
from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.domain.submissions import REFERENCE_SLOT, SmsReceipt, SubmissionDraft
from ussd_gateway.http.eventloop import new_event_loop


def draft(key: str, receipt: bool) -> SubmissionDraft:
    return SubmissionDraft(
        idempotency_key=key,
        service="bench",
        backend="feedback",
        channel="ussd",
        language="sw",
        data={"kind": "complaint", "body": "Road to the clinic is flooded"},
        phone="+255712000000",
        kind="complaint",
        receipt=SmsReceipt("+255712000000", "sw", f"Kumbukumbu {REFERENCE_SLOT}")
        if receipt
        else None,
    )


async def run(
    url: str, submissions: int, concurrency: int, busy: int, turn_us: int, receipts: int
) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    store = SubmissionStore(sessionmaker=create_sessionmaker(engine))
    run_id = uuid.uuid4().hex[:8]
    counter = itertools.count()
    latencies: list[float] = []

    async def submitter() -> None:
        for _ in range(submissions // concurrency):
            n = next(counter)
            started = time.perf_counter()
            await store.submit(draft(f"bench:{run_id}:{n}", receipts > 0 and n % receipts == 0))
            latencies.append(time.perf_counter() - started)

    async def hog(stop: asyncio.Event) -> None:
        while not stop.is_set():
            until = time.perf_counter() + turn_us / 1e6
            while time.perf_counter() < until:
                pass
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(submitter() for _ in range(concurrency)))  # warm-up
        for _ in range(3):
            started = time.process_time()
            await asyncio.gather(*(submitter() for _ in range(concurrency)))
            spent = time.process_time() - started
            print(f"{spent * 1e6 / submissions:.0f} us CPU per submission (idle loop)", flush=True)
        for _ in range(3):
            latencies.clear()
            stop = asyncio.Event()
            hogs = [asyncio.create_task(hog(stop)) for _ in range(busy)]
            started = time.perf_counter()
            await asyncio.gather(*(submitter() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            stop.set()
            await asyncio.gather(*hogs)
            latencies.sort()
            p = {q: latencies[int(q / 100 * (len(latencies) - 1))] * 1e3 for q in (50, 90, 99)}
            print(
                f"busy loop: {len(latencies) / elapsed:.0f} submissions/s, p50 {p[50]:.1f} ms, "
                f"p90 {p[90]:.1f} ms, p99 {p[99]:.1f} ms",
                flush=True,
            )
    finally:
        close = getattr(store, "close", None)  # builds before group commit kept a connection
        if close is not None:
            await close()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("-n", "--submissions", type=int, default=3000)
    parser.add_argument("-c", "--concurrency", type=int, default=12)
    parser.add_argument("--busy", type=int, default=20, help="tasks hogging the loop")
    parser.add_argument("--turn-us", type=int, default=50, help="CPU each hog spends per turn")
    parser.add_argument("--receipts", type=int, default=0, help="every Nth draft has a receipt")
    args = parser.parse_args()
    loop = new_event_loop()
    try:
        loop.run_until_complete(
            run(
                args.database_url,
                args.submissions,
                args.concurrency,
                args.busy,
                args.turn_us,
                args.receipts,
            )
        )
    finally:
        loop.close()


if __name__ == "__main__":
    main()
