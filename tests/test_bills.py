"""Malipo ya Serikali end to end: the shipped directory and config on the real app, its
``bills`` backend a real aiohttp server reached through ``BACKEND_BILLS_URL``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import GatewayFactory, shipped_document, shipped_settings
from tests.support.clock import FakeClock
from tests.support.phone import Phone
from ussd_gateway.http.demo_backend import BILLS

UNAVAILABLE = "END Huduma ya malipo haipatikani kwa sasa. Tafadhali jaribu tena baadaye."


@dataclass
class BillsSystem:
    asked: list[str] = field(default_factory=list)
    hang: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def bill(self, request: web.Request) -> web.Response:
        number = request.match_info["number"]
        self.asked.append(number)
        if self.hang:
            await self.release.wait()
        found = BILLS.get(number)
        if found is None:
            return web.json_response({"error": "no such control number"}, status=404)
        return web.json_response(found)


@pytest.fixture
async def bills() -> AsyncIterator[tuple[BillsSystem, str]]:
    system = BillsSystem()
    app = web.Application()
    app.router.add_get("/gepg/bills/{number}", system.bill)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield system, str(server.make_url("/gepg/bills"))
    finally:
        system.release.set()
        await server.close()


async def start(gateway: GatewayFactory, url: str, clock: FakeClock | None = None) -> Phone:
    client = await gateway(
        service_codes=shipped_settings().service_codes,
        env={"BACKEND_BILLS_URL": url},
        clock=clock or FakeClock(),
    )
    return Phone(client, number="+255712000031")


async def test_a_citizen_checks_a_bill_from_the_directory(gateway, bills) -> None:
    system, url = bills
    phone = await start(gateway, url)
    listing = await phone.dial("*152*00#")
    assert "3. Malipo ya Serikali" in listing
    assert "Andika namba ya malipo" in await phone.send("3")
    screen = await phone.send("991234567890")
    assert screen.startswith(
        "CON Mlipaji: Asha Juma Mwinyi\nLeseni ya biashara 2027\n"
        "Kiasi: TZS 150000\nMwisho: 2027-03-31\n1. Tuma maelekezo kwa SMS"
    ), screen
    assert system.asked == ["991234567890"]
    assert (await phone.send("1")).startswith("END Maelekezo ya kulipa 991234567890")


async def test_an_unknown_number_gets_not_found(gateway, bills) -> None:
    phone = await start(gateway, bills[1])
    await phone.dial("*152*00*3#")
    assert (await phone.send("990000000000")).startswith(
        "CON Namba ya malipo 990000000000 haikupatikana."
    )


async def test_a_hanging_system_gets_unavailable_in_the_hop_then_at_once(gateway, bills) -> None:
    """Within the hop's deadline (the guard's "still working" screen would say otherwise); after
    ``fetch.breaker_failures`` hangs the next citizen is not made to wait: the system is not
    asked at all. After the cool-down, one try finds it back."""
    system, url = bills
    system.hang = True
    clock = FakeClock()
    phone = await start(gateway, url, clock)
    for _ in range(3):
        await phone.dial("*152*00*3#")
        assert await phone.send("991234567890") == UNAVAILABLE
    asked = len(system.asked)
    assert asked == 3
    await phone.dial("*152*00*3#")
    assert await phone.send("991234567890") == UNAVAILABLE
    assert len(system.asked) == asked  # the open circuit answered without asking
    system.hang = False
    clock.advance(31)
    await phone.dial("*152*00*3#")
    assert (await phone.send("991234567890")).startswith("CON Mlipaji: Asha Juma Mwinyi")


async def test_a_refused_connection_is_unavailable_not_a_5xx(gateway) -> None:
    phone = await start(gateway, "http://127.0.0.1:9/bills")
    await phone.dial("*152*00*3#")
    assert await phone.send("991234567890") == UNAVAILABLE


async def test_a_fetch_to_an_unconfigured_backend_is_named_at_start_and_unavailable(
    gateway, caplog: pytest.LogCaptureFixture
) -> None:
    backends = {k: v for k, v in shipped_document()["backends"].items() if k != "bills"}
    client = await gateway(
        service_codes=shipped_settings().service_codes, sections={"backends": backends}
    )
    assert "bills.find: backend bills cannot be asked (not in config backends:)" in caplog.text
    phone = Phone(client)
    await phone.dial("*152*00*3#")
    assert await phone.send("991234567890") == UNAVAILABLE
