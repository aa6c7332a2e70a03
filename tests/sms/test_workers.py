"""Many SMS workers on one database never send the same message twice."""

from __future__ import annotations

import asyncio

from tests.sms.conftest import AtApi, eventually
from tests.sms.test_sender import config, sms_worker
from tests.support.databases import Database
from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.domain.outgoing import OutgoingSms


async def test_four_workers_send_each_message_once(db: Database, at_api: AtApi):
    outbox = SmsOutbox(db.sessionmaker)
    await outbox.enqueue(
        *(
            OutgoingSms(f"receipt:REF{n:05d}", f"+2557120{n:05d}", "sw", f"Ujumbe {n}")
            for n in range(60)
        )
    )
    workers = [
        sms_worker(config(at_api.url, concurrency=5, batch_size=7), db.sessionmaker, name=f"w{n}")
        for n in range(4)
    ]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        await eventually(lambda: _all_sent(outbox, 60), within=30)
    finally:
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks)
    recipients = [m["to"] for m in at_api.sent()]
    assert len(recipients) == 60 and len(set(recipients)) == 60
    assert sum(w.stats["sent"] for w in workers) == 60
    assert sum(1 for w in workers if w.stats["sent"]) >= 2  # the work really was shared


async def _all_sent(outbox: SmsOutbox, count: int) -> bool:
    return (await outbox.counts()).get("sent") == count
