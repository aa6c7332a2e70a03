"""Beem only: ids and entries that arrive as JSON numbers, request ids, the ``beem:`` section.

What Beem shares with the other adapters is in test_every_adapter.py (its fixtures: ``Beem`` in
drivers.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.providers.drivers import post_json
from ussd_gateway.config.settings import ConfigError


def recorded(command: str, response: Any, request_id: Any, session: Any = 4574) -> dict:
    """Shaped like the payloads in public integrations with Beem's USSD hub."""
    return {
        "command": command,
        "msisdn": "255762089337",
        "session_id": session,
        "operator": "vodacom",
        "payload": {"request_id": request_id, "response": response},
    }


async def test_numbers_for_ids_and_entries_as_the_hub_sends_them(client) -> None:
    first = await post_json(client, "/ussd/beem", recorded("initiate", 0, 0))
    assert first["command"] == "continue"
    assert first["msisdn"] == "255762089337" and first["operator"] == "vodacom"
    assert first["session_id"] == "4574"  # a number in, the same id as a string out
    assert first["payload"]["request"].startswith("Karibu e-Mrejesho\n1. Toa mrejesho")
    assert first["payload"]["request_id"] == 1
    kind = await post_json(client, "/ussd/beem", recorded("continue", 1, 1))  # a JSON number
    assert kind["payload"]["request"].startswith("Aina ya mrejesho")
    assert kind["payload"]["request_id"] == 2


async def test_numbers_as_entries_and_extended_code_on_initiate(client) -> None:
    kind = await post_json(client, "/ussd/beem", recorded("initiate", "*152*00*1#", 0, session=77))
    assert kind["payload"]["request"].startswith("Aina ya mrejesho")
    listing = await post_json(client, "/ussd/beem", recorded("continue", 1, 1, session=77))
    assert "Chagua taasisi" in listing["payload"]["request"]


async def test_request_ids_that_are_not_numbers_are_echoed_and_a_missing_one_starts_at_1(
    client,
) -> None:
    """We answer the received id plus one; an id we cannot count on is sent back unchanged."""
    reply = await post_json(client, "/ussd/beem", recorded("initiate", 0, "a7f", session="t"))
    assert reply["payload"]["request_id"] == "a7f"
    body = recorded("initiate", 0, 0, session="m")
    del body["payload"]["request_id"]
    assert (await post_json(client, "/ussd/beem", body))["payload"]["request_id"] == 1


async def test_service_code_comes_from_the_beem_section(gateway) -> None:
    client = await gateway(sections={"beem": {"service_code": "*999#"}})
    reply = await post_json(client, "/ussd/beem", recorded("initiate", 0, 0))
    assert reply["command"] == "terminate"
    assert reply["payload"]["request"].startswith("Samahani, huduma hii haipo.")
    with pytest.raises(ConfigError, match=r"gateway\.yaml: beem: expected a mapping, got '\*152"):
        await gateway(sections={"beem": "*152*00#"})
