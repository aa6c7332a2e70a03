"""Log lines never show a full phone number and carry the hop's request id."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys

from tests.support.phone import Phone
from ussd_gateway.adapters.logs import install_record_factory, mask_text

NUMBER = "+255712345678"
CLEAR = re.compile(r"\d{9,}")


def test_mask_text_masks_numbers_wherever_they_are() -> None:
    assert mask_text(f"from {NUMBER}.") == "from +2557*****678."
    assert mask_text("msisdn=255712345678,x") == "msisdn=2557*****678,x"
    assert mask_text("session ATUid_255712345678 took 12.5ms") == (
        "session ATUid_255712345678 took 12.5ms"
    )


def test_every_record_is_masked_at_creation(caplog) -> None:
    install_record_factory()
    log = logging.getLogger("anything.at.all")
    with caplog.at_level(logging.INFO):
        log.info("citizen %s said %r", NUMBER, {"phone": "0712345678"})
        log.warning(f"formatted early: {NUMBER}")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "citizen +2557*****678 said {'phone': '0712***678'}",
        "formatted early: +2557*****678",
    ]


async def test_hop_logs_are_masked_and_carry_the_request_id(client, caplog) -> None:
    phone = Phone(client)
    with caplog.at_level(logging.DEBUG):
        response = await client.post(
            "/ussd/africastalking",
            data={**phone.form(""), "sessionId": "s-1"},
            headers={"X-Request-Id": "hop-42"},
        )
    assert response.status == 200 and response.headers["X-Request-Id"] == "hop-42"
    hop_lines = [r for r in caplog.records if r.name == "ussd_gateway.application.hops.service"]
    assert hop_lines, "the hop logged nothing"
    assert all(r.request_id == "hop-42" for r in hop_lines)
    for record in caplog.records:
        assert not CLEAR.search(record.getMessage()), record.getMessage()
    assert "+2557*****678" in hop_lines[-1].getMessage()


def test_json_format_parses() -> None:
    script = (
        "import logging\n"
        "from ussd_gateway.adapters.logs import REQUEST_ID, configure_logging\n"
        "from ussd_gateway.config.settings import load_settings\n"
        "settings = load_settings()\n"
        "configure_logging(settings.log_level, settings.logging.format)\n"
        "REQUEST_ID.set('rid-7')\n"
        f"logging.getLogger('ussd_gateway.test').info('from %s', '{NUMBER}')\n"
        "try:\n"
        f"    raise ValueError('{NUMBER}')\n"
        "except ValueError:\n"
        "    logging.getLogger('ussd_gateway.test').exception('failed')\n"
    )
    env = {**os.environ, "LOG_FORMAT": "json"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30
    )
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines[0]["message"] == "from +2557*****678"
    assert lines[0]["request_id"] == "rid-7" and lines[0]["level"] == "INFO"
    assert lines[0]["logger"] == "ussd_gateway.test" and "time" in lines[0]
    assert "ValueError: +2557*****678" in lines[1]["exception"]
    assert NUMBER not in result.stderr
