"""Type to search through the real webhook: Africa's Talking's cumulative ``text`` carries the
term as one piece like any other, and the session keeps it between hops (memory and Redis)."""

from __future__ import annotations

from tests.conftest import GatewayFactory
from tests.support.phone import Phone


async def test_a_term_in_the_cumulative_text_searches_the_institutions(
    gateway: GatewayFactory,
) -> None:
    phone = Phone(await gateway())
    await phone.dial()
    await phone.walk("1", "1")  # give feedback, a complaint: the institutions
    results = await phone.send("tan")
    assert results.startswith('CON Matokeo ya "tan":\n1. TANESCO')
    assert phone.text == "1*1*tan"
    whole = await phone.send("0")
    assert whole.startswith("CON Chagua taasisi\n")
    await phone.send("tanroads")
    chosen = await phone.send("1")
    assert phone.text == "1*1*tan*0*tanroads*1"
    assert chosen.startswith("CON TANROADS")


async def test_search_in_english_and_no_match(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway())
    await phone.dial()
    await phone.walk("3", "2", "1", "1")  # language: English; give feedback, a complaint
    nothing = await phone.send("qqq")
    assert nothing.startswith('CON Nothing matches "qqq".\nChoose institution\n')
    results = await phone.send("Tan")
    assert results.startswith('CON Results for "Tan":\n1. TANESCO')
