"""Hubtel only: the spellings of its published sample and of its field table.

What Hubtel shares with the other adapters is in test_every_adapter.py (its fixtures: ``Hubtel``
in drivers.py, which spells ``Type`` capitalised and sends ``Sequence`` as a number).
"""

from __future__ import annotations

from tests.providers.drivers import post_json
from ussd_gateway.http.keys import SESSIONS


def recorded(kind: str, message: str, sequence: int, session: str = "8d440a43a98b4614") -> dict:
    """Shaped like the request in Hubtel's published sample interaction."""
    return {
        "Sequence": str(sequence),
        "Type": kind,
        "Message": message,
        "ServiceCode": "152*00",
        "Operator": "vodafone",
        "ClientState": "",
        "Mobile": "233246912184",
        "SessionId": session,
    }


async def test_the_published_sample_is_understood(client) -> None:
    """Type in lower case, Sequence as a string, ServiceCode without ``*`` and ``#``."""
    first = await post_json(client, "/ussd/hubtel", recorded("initiation", "*152*00#", 1))
    assert first["Type"] == "Response" and first["SessionId"] == "8d440a43a98b4614"
    assert first["Message"].startswith("Karibu e-Mrejesho\n1. Toa mrejesho")
    assert first["Label"] == "Karibu e-Mrejesho"
    kind = await post_json(client, "/ussd/hubtel", recorded("response", "1", 2))
    assert kind["Message"].startswith("Aina ya mrejesho")
    assert await post_json(client, "/ussd/hubtel", recorded("response", "1", 2)) == kind
    listing = await post_json(client, "/ussd/hubtel", recorded("response", "1", 3))
    assert "Chagua taasisi" in listing["Message"]
    release = await post_json(client, "/ussd/hubtel", recorded("release", "", 4))
    assert release["Type"] == "Release"
    session = await client.app[SESSIONS].get("hubtel:8d440a43a98b4614")
    assert session is not None and session.end_reason == "release"


async def test_field_names_in_any_case_and_the_code_from_service_code(client) -> None:
    """Hubtel's field table spells ``serviceCode``; an initiation without the dial string in
    its message takes the code from there."""
    body = {
        "type": "Initiation",
        "sessionId": "lower",
        "mobile": "233246912184",
        "serviceCode": "152*00",
        "message": "",
        "sequence": 1,
    }
    reply = await post_json(client, "/ussd/hubtel", body)
    assert reply["Type"] == "Response" and reply["SessionId"] == "lower"
    assert reply["Message"].startswith("Karibu e-Mrejesho")


async def test_add_to_cart_gets_the_current_screen_not_a_400(client) -> None:
    """``AddToCart`` is one of Hubtel's documented request types; nothing is sold here, so the
    citizen keeps the screen they were on and the session does not move."""
    await post_json(client, "/ussd/hubtel", recorded("initiation", "*152*00#", 1, "cart"))
    kind = await post_json(client, "/ussd/hubtel", recorded("response", "1", 2, "cart"))
    cart = await post_json(client, "/ussd/hubtel", recorded("AddToCart", "", 3, "cart"))
    assert cart == kind
    listing = await post_json(client, "/ussd/hubtel", recorded("response", "1", 4, "cart"))
    assert "Chagua taasisi" in listing["Message"]
    fresh = await post_json(client, "/ussd/hubtel", recorded("AddToCart", "", 1, "new-one"))
    assert fresh["Type"] == "Response" and fresh["SessionId"] == "new-one"
