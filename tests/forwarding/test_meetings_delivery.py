"""A meeting registration goes through the outbox to the ``meetings`` backend, its own."""

from __future__ import annotations

import asyncio

from tests.conftest import GatewayFactory, shipped_settings
from tests.forwarding.conftest import StandIn
from tests.support.phone import Phone
from tests.test_egov_meeting import number_in, up_to_confirm
from ussd_gateway.http.keys import SUBMISSIONS


def test_the_meetings_backend_is_configured_apart_from_feedback() -> None:
    config = shipped_settings().forwarding
    assert config.backends["meetings"].options["url"] == "http://127.0.0.1:8090/meetings"
    assert config.backends["feedback"].options["url"] == "http://127.0.0.1:8090/feedback"


async def test_a_registration_is_delivered_to_the_meetings_backend(
    gateway: GatewayFactory, sqlite_url: str, stand_in: StandIn
) -> None:
    client = await gateway(
        database_url=sqlite_url,
        worker=True,
        service_codes=shipped_settings().service_codes,
        env={"BACKEND_MEETINGS_URL": stand_in.url, "BACKEND_FEEDBACK_URL": "http://127.0.0.1:9/x"},
    )
    phone = Phone(client, number="+255712000081")
    await up_to_confirm(phone, "0712000082")
    registration = number_in(await phone.send("1"))
    for _ in range(60):  # the shipped poll interval is 0.5 s
        view = await client.app[SUBMISSIONS].get(registration)
        if view is not None and view.status == "delivered":
            break
        await asyncio.sleep(0.05)
    assert view is not None and view.status == "delivered"
    [received] = stand_in.received
    assert received.key == registration
    body = received.json
    assert body["service"] == "egov_meeting", body
    assert body["data"] == {
        "name": "Amina Juma",
        "institution": "Wizara ya Afya",
        "position": "Afisa TEHAMA",
        "phone": "+255712000082",
    }
