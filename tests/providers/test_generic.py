"""Our own format only: the documented examples, and latest mode without a sequence.

What it shares with the other adapters is in test_every_adapter.py (its fixtures: ``Generic`` in
drivers.py, driven in both modes).
"""

from __future__ import annotations

import json

from tests.conftest import ROOT, shipped_settings
from tests.providers.drivers import post_json


def recorded(event: str, text: str, *, mode: str = "cumulative", session: str = "tz-1") -> dict:
    """As documented in docs/providers.md."""
    return {
        "session_id": session,
        "phone": "+255754000111",
        "service_code": "*152*00#",
        "text": text,
        "mode": mode,
        "event": event,
        "network": "64005",
    }


async def test_latest_mode_without_sequence_and_whole_input_sent_again(client) -> None:
    async def post(text: str, event: str = "continue") -> dict:
        body = recorded(event, text, mode="latest", session="w")
        return await post_json(client, "/ussd/generic", body)

    await post("", "start")
    kind = await post("1")
    assert kind["text"].startswith("Aina ya mrejesho")
    # the telco sends the whole input instead of the newest entry: still one step
    listing = await post("1*1")
    assert "Chagua taasisi" in listing["text"]
    assert await post("1*1") == listing  # and the same again, with no sequence: a retry


async def test_documented_examples_give_the_documented_answers(gateway) -> None:
    """As shipped: ``*152*00#`` is the government directory."""
    client = await gateway(service_codes=shipped_settings().service_codes)
    doc = (ROOT / "docs" / "providers.md").read_text().split("## generic", 1)[1]
    blocks = [json.loads(b.split("```", 1)[0]) for b in doc.split("```json\n")[1:]]
    assert len(blocks) == 8
    assert blocks[1]["text"].startswith("Huduma za Serikali\n1. e-Mrejesho")
    for request, answer in zip(blocks[::2], blocks[1::2], strict=True):
        assert await post_json(client, "/ussd/generic", request) == answer
