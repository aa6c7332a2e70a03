"""CPU per session event (queueing it during a hop, writing it in a batch), no HTTP, no engine.

Run: ``python -m benchmarks.session_events --database-url postgresql+asyncpg://...`` (a scratch
database: the table is migrated, then filled with bench rows). Prints, three times, us of this
process's CPU per event to queue it and to write it (on SQLite that includes aiosqlite's thread),
and the event loop's own share of the writing.
Run it under two builds to compare the event writer alone. 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import time

from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.migrate import upgrade
from ussd_gateway.adapters.observe.events import EventRecorder, events_engine
from ussd_gateway.config.observability import EventSettings
from ussd_gateway.http.eventloop import new_event_loop

SCREENS = ("home", "kind", "institution", "body", "identify", "name", "confirm", "done")


def queue(recorder: EventRecorder, round_: int, events: int) -> None:
    """``events`` events of journeys of 8 (a start, then screens), as hops queue them."""
    for n in range(events):
        sid = f"{round_:02d}{n // 8:030d}"
        kind = "start" if n % 8 == 0 else "screen"
        screen = None if kind == "start" else SCREENS[n % 8]
        recorder.record(
            session_id=sid, service="mrejesho", provider="africastalking", kind=kind, screen=screen
        )


async def run(url: str, events: int, batch_size: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    settings = EventSettings(batch_size=batch_size, queue_size=events + 1)
    recorder = EventRecorder(create_sessionmaker(events_engine(engine)), settings)
    try:
        for round_ in range(4):  # the first is a warm-up
            started = time.process_time()
            queue(recorder, round_, events)
            queued = time.process_time() - started
            started, started_loop = time.process_time(), time.thread_time()
            await recorder.flush()
            written = time.process_time() - started
            written_loop = time.thread_time() - started_loop
            if round_:
                print(
                    f"queue {queued * 1e6 / events:.2f} us/event, write "
                    f"{written * 1e6 / events:.2f} us/event, of which the event loop's "
                    f"{written_loop * 1e6 / events:.2f} (batches of {batch_size})",
                    flush=True,
                )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("-n", "--events", type=int, default=20_000)
    parser.add_argument("-b", "--batch-size", type=int, default=200)
    args = parser.parse_args()
    loop = new_event_loop()
    try:
        loop.run_until_complete(run(args.database_url, args.events, args.batch_size))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
