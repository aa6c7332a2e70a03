"""Nalo only: it sends no session id, so the gateway tells one dial of a number from the next.

What Nalo shares with the other adapters is in test_every_adapter.py (``Nalo`` in drivers.py).
"""

from __future__ import annotations

import pytest

from tests.providers.drivers import post_json
from tests.providers.fuzzing import BOTH_STORES

HOME = "Karibu e-Mrejesho\n1. Toa mrejesho"


def hop(data: str, new: bool = False, msisdn: str = "233241234567") -> dict:
    """Shaped like the request ussd-builder 1.3.2 reads for Nalo."""
    return {
        "USERID": "NALOTest",
        "MSISDN": msisdn,
        "USERDATA": data,
        "MSGTYPE": new,
        "NETWORK": "MTN",
    }


@BOTH_STORES
async def test_a_finished_journey_is_followed_by_a_fresh_one(client) -> None:
    """The whole journey to its reference, then a dial: the first screen, not the last."""
    await post_json(client, "/ussd/nalo", hop("*152*00#", new=True))
    for entry in ("1", "1", "2", "Nimelipa kodi *mara mbili* lakini risiti haikuja", "2"):
        await post_json(client, "/ussd/nalo", hop(entry))
    final = await post_json(client, "/ussd/nalo", hop("1"))
    assert final["MSGTYPE"] is False and final["MSG"].startswith("Asante!")
    late = await post_json(client, "/ussd/nalo", hop("1"))  # a late entry: still the end
    assert late == final
    again = await post_json(client, "/ussd/nalo", hop("*152*00#", new=True))
    assert again["MSGTYPE"] is True and again["MSG"].startswith(HOME)
    other = await post_json(client, "/ussd/nalo", hop("*152*00#", True, "233201234567"))
    assert other["MSG"].startswith(HOME) and other["MSISDN"] == "233201234567"


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_two_web_processes_agree_on_the_session(gateway) -> None:
    """Each hop may reach another process: the dial count lives in the shared store."""
    one, two = await gateway(), await gateway()
    assert (await post_json(one, "/ussd/nalo", hop("*152*00#", new=True)))["MSG"].startswith(HOME)
    kind = await post_json(two, "/ussd/nalo", hop("1"))
    assert kind["MSG"].startswith("Aina ya mrejesho")
    assert "Chagua taasisi" in (await post_json(one, "/ussd/nalo", hop("1")))["MSG"]
    # the call dropped; the new dial is a new session, which offers the journey back
    again = await post_json(two, "/ussd/nalo", hop("*152*00#", new=True))
    assert again["MSG"].startswith("Hukumaliza e-Mrejesho.")
    assert "Chagua taasisi" in (await post_json(one, "/ussd/nalo", hop("1")))["MSG"]


async def test_a_session_id_nalo_sends_is_used(client) -> None:
    body = dict(hop("*152*00#", new=True), SESSIONID="16590115252429751")
    await post_json(client, "/ussd/nalo", body)
    kind = await post_json(client, "/ussd/nalo", dict(hop("1"), SESSIONID="16590115252429751"))
    assert kind["MSG"].startswith("Aina ya mrejesho")
    await post_json(
        client, "/ussd/nalo", dict(hop("*152*00#", True, "233201234567"), SESSIONID="b")
    )
    listing = await post_json(client, "/ussd/nalo", dict(hop("1"), SESSIONID="16590115252429751"))
    assert "Chagua taasisi" in listing["MSG"]
