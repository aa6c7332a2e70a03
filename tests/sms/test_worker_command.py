"""A real ``ussd-gateway worker`` process sends queued SMS next to delivering submissions."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import yaml

from tests.sms.conftest import API_KEY, AtApi, eventually
from tests.support.databases import Database
from tests.support.serve import start_worker
from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.domain.outgoing import OutgoingSms

BIN = Path(sys.executable).parent


async def test_worker_command_sends_queued_sms_and_stops_on_sigterm(
    db: Database, at_api: AtApi, tmp_path: Path
):
    outbox = SmsOutbox(db.sessionmaker)
    await outbox.enqueue(OutgoingSms("receipt:ABCD2345", "+255712345678", "sw", "Kumbukumbu"))
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml.safe_dump({"sms": {"poll_interval": 0.1, "sender_id": "eGA"}}))
    env = {"AT_USERNAME": "gateway", "AT_API_KEY": API_KEY, "AT_API_BASE_URL": at_api.url}
    log = tmp_path / "worker.log"
    worker = await start_worker(config, db.url, log, env)
    try:
        await eventually(at_api.sent, within=30)
        await eventually(lambda: _sent(outbox), within=10)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 20) == 0, log.read_text()
    assert at_api.sent() == [
        {
            "username": "gateway",
            "to": "+255712345678",
            "message": "Kumbukumbu",
            "bulkSMSMode": "1",
            "from": "eGA",
        }
    ]
    assert "receipt:ABCD2345 to +2557*****678 attempt 1 → sent" in log.read_text()


async def _sent(outbox: SmsOutbox) -> bool:
    found = await outbox.find("receipt:ABCD2345")
    return found is not None and found.status == "sent"
