"""Emergent and Cross-Switch only: Hubtel's format with ``USERID`` naming the code.

What they share with the other adapters is in test_every_adapter.py (``Emergent`` and
``CrossSwitch`` in drivers.py, which also check ``MaskNextRoute``).
"""

from __future__ import annotations

import pytest

from tests.providers.drivers import post_json


def hop(kind: str, message: str, **extra: object) -> dict:
    """Shaped like the request ussd-builder 1.3.2 reads for Emergent: no ServiceCode here."""
    return {
        "Type": kind,
        "Message": message,
        "Mobile": "233246912184",
        "SessionId": "em-1",
        "Operator": "mtn",
        "USERID": "152*00",
        **extra,
    }


@pytest.mark.parametrize("name", ["emergent", "cross-switch"])
async def test_userid_names_the_code(client, name: str) -> None:
    url = f"/ussd/{name}"
    first = await post_json(client, url, hop("Initiation", "152"))  # not a dial string
    assert first["Message"].startswith("Karibu e-Mrejesho")
    assert first["Type"] == "Response" and first["MaskNextRoute"] is True
    kind = await post_json(client, url, hop("Response", "1"))
    assert kind["Message"].startswith("Aina ya mrejesho")
    response = await client.post(url, json=hop("Response", "1", USERID=""))
    assert response.status == 400
    assert await response.text() == "bad request: missing or empty userid\n"


@pytest.mark.parametrize("name", ["emergent", "cross-switch"])
async def test_an_end_screen_has_no_mask_next_route(client, name: str) -> None:
    reply = await post_json(client, f"/ussd/{name}", hop("Initiation", "*999#", USERID="999"))
    assert reply["Type"] == "Release" and "MaskNextRoute" not in reply
