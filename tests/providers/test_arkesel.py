"""Arkesel and South Pawsl only: the dialled code where their requests do not name it.

What they share with the other adapters is in test_every_adapter.py (``Arkesel`` and
``SouthPawsl`` in drivers.py).
"""

from __future__ import annotations

from tests.providers.drivers import post_json


def arkesel(data: str, new: bool = False, session: str = "ark-1") -> dict:
    """Shaped like the request ussd-builder 1.3.2 reads for Arkesel."""
    return {
        "sessionID": session,
        "userID": "USSD_ARK",
        "newSession": new,
        "msisdn": "233241234567",
        "userData": data,
        "network": "MTN",
    }


async def test_the_code_comes_from_the_url_when_the_requests_do_not_name_it(gateway) -> None:
    """Two codes, one callback URL each: later hops name no code, the URL does."""
    client = await gateway(service_codes={"*152*00#": "mrejesho", "*152*01#": "egov_meeting"})
    url = "/ussd/arkesel?code=152*01"
    first = await post_json(client, url, arkesel("0", new=True))  # no dial string either
    meeting = first["message"]
    assert not meeting.startswith("Karibu e-Mrejesho")
    assert first["continueSession"] is True and first["sessionID"] == "ark-1"
    assert (await post_json(client, url, arkesel("1")))["message"] != meeting
    plain = await post_json(client, "/ussd/arkesel", arkesel("0", True, "ark-2"))
    assert plain["message"].startswith("Karibu e-Mrejesho")  # the first configured code
    response = await client.post("/ussd/arkesel?code=abc", json=arkesel("0", True, "ark-3"))
    assert response.status == 400
    assert (
        await response.text() == "bad request: code in the URL is not a short code such as 152*00\n"
    )


async def test_southpawsl_reads_the_code_without_star_or_hash(client) -> None:
    body = {
        "sessionId": "sp-1",
        "menuId": "m1",
        "msisdn": "233241234567",
        "ussdString": "152*00",
        "inputOption": "152*00",
        "network": "MTN",
        "ussdParameters": None,
    }
    first = await post_json(client, "/ussd/southpawsl", body)
    assert first["state"] == "CONTINUE" and first["message"].startswith("Karibu e-Mrejesho")
    assert first["option"] == "" and first["ussdString"] == "152*00"
    kind = await post_json(client, "/ussd/southpawsl", dict(body, inputOption="1"))
    assert kind["message"].startswith("Aina ya mrejesho") and kind["option"] == "1"


async def test_southpawsl_first_request_spelled_the_other_way(client) -> None:
    body = {"sessionId": "sp-2", "msisdn": "233241234567", "ussdString": "*152*00#"}
    first = await post_json(client, "/ussd/southpawsl", dict(body, inputOption="152*00"))
    assert first["message"].startswith("Karibu e-Mrejesho") and first["option"] == ""
