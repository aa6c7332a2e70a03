"""``list`` screens: long lists split into pages that each fit a phone, in every language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.engine.helpers import build, drive, institutions, mrejesho, parse
from ussd_gateway.config.settings import NavigationKeys
from ussd_gateway.domain.gsm import fits_ussd, ussd_length

ITEM = re.compile(r"^(\d+)\. (.+)$")
COUNT = 40


def items_yaml(count: int = COUNT) -> str:
    return "\n".join(
        f"      - id: inst{n:02d}\n"
        f'        label: {{sw: "Taasisi ya Umma nambari {n:02d}", '
        f'en: "Public Institution number {n:02d}"}}\n'
        f'        name: {{sw: "Jina Kamili la Taasisi {n:02d}", '
        f'en: "Full Name of Institution {n:02d}"}}'
        for n in range(1, count + 1)
    )


def list_menu(count: int = COUNT) -> str:
    return f"""
service: lists
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {{sw: "Karibu", en: "Welcome"}}
    options:
      - {{label: {{sw: "Chagua taasisi", en: "Choose institution"}}, next: pick}}
  pick:
    type: list
    text: {{sw: "Chagua taasisi", en: "Choose institution"}}
    save_as: inst
    next: done
    items:
{items_yaml(count)}
  done:
    type: end
    text: "{{{{ inst }}}}|{{{{ inst_name }}}}|{{{{ inst_label }}}}"
"""


@pytest.fixture
def menu(tmp_path: Path):
    return build(tmp_path, list_menu())


def entries_of(text: str) -> list[tuple[int, str]]:
    return [(int(m[1]), m[2]) for line in text.splitlines() if (m := ITEM.match(line))]


async def all_pages(definition, language: str, enter: list[str]) -> list[str]:
    """The text of every page of the list reached by ``enter``, following 98 to the end."""
    journey = await drive(definition, enter, language=language)
    pages = [journey.text]
    session = journey.session
    while "98." in pages[-1]:
        journey = await drive(definition, ["98"], session=session)
        session = journey.session
        pages.append(journey.text)
        assert len(pages) < 100
    return pages


@pytest.mark.parametrize("language", ["sw", "en"])
async def test_every_page_fits_and_every_item_is_shown_once(menu, language: str) -> None:
    pages = await all_pages(menu, language, ["1"])
    assert len(pages) > 2
    shown = []
    for text in pages:
        assert fits_ussd(text), (ussd_length(text), text)
        numbers = [n for n, _ in entries_of(text)]
        assert numbers == list(range(1, len(numbers) + 1))  # numbering restarts on each page
        shown += [label for _, label in entries_of(text)]
    word = "Taasisi ya Umma nambari" if language == "sw" else "Public Institution number"
    assert shown == [f"{word} {n:02d}" for n in range(1, COUNT + 1)]


@pytest.mark.parametrize("language", ["sw", "en"])
async def test_every_page_still_fits_with_a_hint_and_loses_no_item(menu, language: str) -> None:
    journey = await drive(menu, ["1"], language=language)
    session = journey.session
    hint = "Chaguo si sahihi. Chagua 1-" if language == "sw" else "Invalid choice. Pick 1-"
    while True:
        page = journey.text
        wrong = await drive(menu, ["97"], session=session)
        assert wrong.text.startswith(hint)
        assert wrong.text.split("\n", 1)[0] == f"{hint}{len(entries_of(page))}."
        assert fits_ussd(wrong.text), (ussd_length(wrong.text), wrong.text)
        assert entries_of(wrong.text) == entries_of(page)
        assert wrong.text.splitlines()[-1] == page.splitlines()[-1]
        assert wrong.session.page == session.page
        if "98." not in page:
            break
        journey = await drive(menu, ["98"], session=session)
        session = journey.session


async def test_pages_have_footers_with_more_only_when_there_is_more(menu) -> None:
    pages = await all_pages(menu, "sw", ["1"])
    for text in pages[:-1]:
        assert text.splitlines()[0] == "Chagua taasisi"
        assert text.splitlines()[-1] == "98.Zaidi 0.Rudi 00.Mwanzo"
    assert pages[-1].splitlines()[-1] == "0.Rudi 00.Mwanzo"
    english = await all_pages(menu, "en", ["1"])
    assert english[0].splitlines()[-1] == "98.More 0.Back 00.Home"
    assert english[-1].splitlines()[-1] == "0.Back 00.Home"


async def test_more_shows_the_next_page(menu) -> None:
    journey = await drive(menu, ["1", "98"])
    assert journey.session.screen == "pick"
    assert journey.session.page == 1
    first = await drive(menu, ["1"])
    last_on_first = entries_of(first.text)[-1][1]
    first_on_second = entries_of(journey.text)[0]
    assert first_on_second[0] == 1
    assert int(first_on_second[1][-2:]) == int(last_on_first[-2:]) + 1


async def test_back_goes_to_the_previous_page_before_leaving_the_screen(menu) -> None:
    journey = await drive(menu, ["1", "98", "98", "0", "0", "0"])
    assert [r.session.page for r in journey.results] == [0, 0, 1, 2, 1, 0, 0]
    assert journey.screens == ["home", "pick", "pick", "pick", "pick", "pick", "home"]
    assert journey.texts[4] == journey.texts[2]
    assert journey.texts[5] == journey.texts[1]
    assert journey.text == "Karibu\n1. Chagua taasisi"


async def test_more_on_the_last_page_shows_a_hint(menu) -> None:
    pages = await all_pages(menu, "sw", ["1"])
    enter = ["1"] + ["98"] * (len(pages) - 1)
    journey = await drive(menu, [*enter, "98"])
    assert journey.text.startswith("Hakuna zaidi.\n")
    assert entries_of(journey.text) == entries_of(pages[-1])
    assert journey.session.page == len(pages) - 1
    english = await drive(menu, [*enter, "98"], language="en")
    assert english.text.startswith("No more items.\n")


async def test_home_from_a_later_page_goes_to_the_start(menu) -> None:
    journey = await drive(menu, ["1", "98", "98", "00"])
    assert journey.session.screen == "home"
    assert journey.session.page == 0
    assert journey.session.history == []


@pytest.mark.parametrize("language", ["sw", "en"])
async def test_choosing_an_item_sets_id_name_and_label(menu, language: str) -> None:
    second_page = await drive(menu, ["1", "98"], language=language)
    number, label = entries_of(second_page.text)[1]
    n = int(label[-2:])
    journey = await drive(menu, [str(number)], session=second_page.session)
    variables = journey.session.vars
    assert variables["inst"] == f"inst{n:02d}"
    if language == "sw":
        assert variables["inst_label"] == f"Taasisi ya Umma nambari {n:02d}"
        assert variables["inst_name"] == f"Jina Kamili la Taasisi {n:02d}"
    else:
        assert variables["inst_label"] == f"Public Institution number {n:02d}"
        assert variables["inst_name"] == f"Full Name of Institution {n:02d}"
    assert journey.text == f"{variables['inst']}|{variables['inst_name']}|{label}"
    assert journey.session.history == ["home", "pick"]


@pytest.mark.parametrize("entry", ["97", "#", "1.", "past the page"])
async def test_number_not_on_the_page_is_a_wrong_choice(menu, entry: str) -> None:
    journey = await drive(menu, ["1"])
    if entry == "past the page":
        entry = str(len(entries_of(journey.text)) + 1)
    wrong = await drive(menu, [entry], session=journey.session)
    count = len(entries_of(journey.text))
    assert wrong.text == f"Chaguo si sahihi. Chagua 1-{count}.\n{journey.text}"
    assert "inst" not in wrong.session.vars


async def test_short_list_has_one_page_without_more(tmp_path: Path) -> None:
    definition = build(tmp_path, list_menu(3))
    journey = await drive(definition, ["1"])
    assert entries_of(journey.text) == [
        (1, "Taasisi ya Umma nambari 01"),
        (2, "Taasisi ya Umma nambari 02"),
        (3, "Taasisi ya Umma nambari 03"),
    ]
    assert "98." not in journey.text
    more = await drive(definition, ["98"], session=journey.session)
    assert more.text.startswith("Hakuna zaidi.\n")


async def test_plain_labels_serve_every_language(tmp_path: Path) -> None:
    definition = build(
        tmp_path,
        """
        service: plain
        languages: [sw, en]
        start: pick
        screens:
          pick:
            type: list
            text: {sw: "Mkoa", en: "Region"}
            items:
              - {id: dar, label: "Dar es Salaam"}
              - {id: dodoma, label: "Dodoma"}
            save_as: region
            next: done
          done: {type: end, text: "{{ region_label }} ({{ region }})"}
        """,
    )
    journey = await drive(definition, ["2"], language="en")
    assert journey.texts[0] == "Region\n1. Dar es Salaam\n2. Dodoma"
    assert journey.text == "Dodoma (dodoma)"
    assert journey.session.vars["region_name"] == "Dodoma"


# ---- the real catalogue in the real menu ----------------------------------------------------


@pytest.mark.parametrize("language", ["sw", "en"])
async def test_every_institution_page_of_mrejesho_fits(language: str) -> None:
    definition = mrejesho()
    pages = await all_pages(definition, language, ["1", "1"])
    shown = []
    for text in pages:
        assert fits_ussd(text), (ussd_length(text), text)
        shown += [label for _, label in entries_of(text)]
    catalogue = institutions()
    assert shown == [item.label_in(language, "sw") for item in catalogue.items]
    assert len(shown) == len(catalogue.items) == 59


async def test_choosing_an_institution_in_mrejesho() -> None:
    definition = mrejesho()
    journey = await drive(definition, ["1", "1", "98", "1"])
    assert journey.session.screen == "body"
    variables = journey.session.vars
    item = next(i for i in institutions().items if i.id == variables["institution"])
    assert variables["institution_label"] == item.label["sw"]
    assert variables["institution_name"] == item.name["sw"]
    assert journey.text.startswith(item.label["sw"] + "\n")


# ---- definition problems --------------------------------------------------------------------


def test_unknown_catalogue_is_an_error() -> None:
    _, problems = parse(list_menu().split("    items:")[0] + "    items: nowhere\n")
    errors = [(p.screen, p.message) for p in problems if p.severity == "error"]
    assert ("pick", "'items' names unknown catalogue 'nowhere'") in errors


def test_item_without_label_is_an_error() -> None:
    text = list_menu(2).replace(
        '        label: {sw: "Taasisi ya Umma nambari 02", ', "        x: {"
    )
    _, problems = parse(text)
    errors = [(p.screen, p.message) for p in problems if p.severity == "error"]
    assert ("pick", "each item needs 'id' and 'label'") in errors


def test_navigation_key_that_is_also_an_item_number_is_an_error() -> None:
    _, problems = parse(list_menu(), navigation=NavigationKeys(back="2"))
    errors = [(p.screen, p.message) for p in problems if p.severity == "error"]
    assert ("pick", "a list page has so many items that a number is a navigation key") in errors
