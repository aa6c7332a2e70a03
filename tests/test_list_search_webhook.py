"""Type to search through the real webhook: Africa's Talking's cumulative ``text`` carries the
term as one piece like any other, and the session keeps it between hops (memory and Redis)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import GatewayFactory
from tests.support.phone import Phone
from tests.test_directory import Menus


async def test_a_term_in_the_cumulative_text_searches_the_institutions(
    gateway: GatewayFactory,
) -> None:
    phone = Phone(await gateway())
    await phone.dial()
    institutions = await phone.walk("1", "1")  # give feedback, a complaint: the institutions
    results = await phone.send("tan")
    assert results.startswith('CON Matokeo ya "tan":\n1. TAN')
    assert "TANESCO" in results and "TANROADS" in results
    assert phone.text == "1*1*tan"
    assert await phone.send("0") == institutions
    await phone.send("tanroads")
    chosen = await phone.send("1")
    assert phone.text == "1*1*tan*0*tanroads*1"
    assert chosen.startswith("CON TANROADS")


async def test_search_in_english_and_no_match(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway())
    await phone.dial()
    institutions = await phone.walk("3", "2", "1", "1")  # English; feedback, a complaint
    nothing = await phone.send("qqq")
    assert nothing == f'CON Nothing matches "qqq".\n{institutions[4:]}'
    results = await phone.send("Tan")
    assert results.startswith('CON Results for "Tan":\n1. TAN')
    assert "TANESCO" in results and "TANROADS" in results


REGIONS = """\
service: mikoa
owner: {institution: "Taasisi", contact: "t@example.go.tz"}
backend: feedback
languages: [sw, en]
start: pick
screens:
  pick:
    type: list
    text: {sw: "Chagua mkoa", en: "Choose region"}
    items: [{id: dar, label: "Dar es Salaam"}, {id: dodoma, label: "Dodoma"}]
    save_as: region
    next: done
  done: {type: end, text: "{{ region_label }}"}
"""


async def test_back_on_results_of_a_first_screen_goes_to_the_list_before_the_directory(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    menus = Menus(tmp_path)
    menus.write("mikoa", REGIONS)
    menus.directory(["{file: mikoa.yaml}"])
    phone = Phone(await gateway(**menus.settings()))
    directory = await phone.dial()
    whole = await phone.send("1")
    assert whole == "CON Chagua mkoa\n1. Dar es Salaam\n2. Dodoma\n0.Rudi"
    assert await phone.send("dod") == 'CON Matokeo ya "dod":\n1. Dodoma\n0.Rudi'
    assert await phone.send("0") == whole
    assert await phone.send("0") == directory
