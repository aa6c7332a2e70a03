"""A submission the gateway gives up delivering: the citizen, told "received", is told the
truth by SMS and on the track screen; operators see it counted."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from tests.forwarding.conftest import Reply, StandIn
from tests.sms.conftest import AtApi, eventually, message, settle
from tests.support.phone import Phone
from tests.test_journeys import give_feedback
from ussd_gateway.adapters.db.engine import create_sessionmaker
from ussd_gateway.adapters.outbox.ledger import DeliveryLedger
from ussd_gateway.http.keys import DATABASE, SUBMISSIONS

NUMBER = "+255712345678"
UNDELIVERED_SW = (
    "Namba ya kumbukumbu {reference}: samahani, ombi lako bado halijafika kwa taasisi. "
    "Tunalifuatilia; huna haja ya kulituma tena."
)


def given_up(status: str) -> float:
    labels = {"backend": "feedback", "status": status}
    return REGISTRY.get_sample_value("ussd_deliveries_given_up_total", labels) or 0.0


async def track(phone: Phone, reference: str) -> str:
    await phone.dial()
    await phone.send("2")
    return await phone.send(reference)


async def test_a_refused_submission_is_told_to_the_citizen_once(
    sms_client: TestClient, at_api: AtApi, stand_in: StandIn
):
    stand_in.default = Reply(422, {"error": "institution unknown"})
    counted = given_up("failed")
    phone = Phone(sms_client)
    reference = await give_feedback(phone)

    await eventually(lambda: len(at_api.sent()) >= 2)  # the receipt, then the truth
    texts = {m["message"] for m in at_api.sent() if m["to"] == NUMBER}
    assert UNDELIVERED_SW.format(reference=reference) in texts
    assert given_up("failed") == counted + 1
    shown = await track(phone, reference)
    assert "Bado haijafika kwa taasisi" in shown
    assert "Inasubiri kushughulikiwa" not in shown

    # an operator's retry that fails again: counted again, the citizen is not texted twice
    ledger = DeliveryLedger(create_sessionmaker(sms_client.app[DATABASE]))
    assert await ledger.requeue(reference=reference) == [reference]
    await eventually(lambda: given_up("failed") == counted + 2)
    await settle()
    assert len(at_api.sent()) == 2


async def test_no_message_for_an_anonymous_citizen_or_one_who_opted_out(
    sms_client: TestClient, at_api: AtApi, stand_in: StandIn
):
    stand_in.default = Reply(422)
    anonymous = await give_feedback(Phone(sms_client), anonymous=True)
    data = {"from": NUMBER, "to": "15200", "text": "ACHA", "id": "in-stop", "date": "2026-12-01"}
    assert (await sms_client.post("/sms/inbound", data=data)).status == 200
    named = await give_feedback(Phone(sms_client))
    view = sms_client.app[SUBMISSIONS]

    async def both_failed() -> bool:
        found = [await view.get(r) for r in (anonymous, named)]
        return all(v is not None and v.status == "failed" for v in found)

    await eventually(both_failed)
    await settle()
    assert await message(sms_client, f"undelivered:{named}") is None
    assert await message(sms_client, f"undelivered:{anonymous}") is None
