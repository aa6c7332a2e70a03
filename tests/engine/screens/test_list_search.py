"""Type to search on a ``list``, and lists whose items come from a session variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import build, drive, mrejesho, parse
from tests.engine.screens.test_list import entries_of
from ussd_gateway.domain.gsm import fits_ussd, ussd_length

REGIONS = """
service: regions
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Karibu", en: "Welcome"}
    options:
      - {label: {sw: "Mkoa", en: "Region"}, next: pick}
  pick:
    type: list
    text: {sw: "Chagua mkoa", en: "Choose region"}
    save_as: region
    next: done
    items:
      - {id: dar, label: "Dar es Salaam", name: {sw: "Mkoa wa Dar es Salaam", en: "Dar Region"}}
      - {id: dodoma, label: "Dodoma", name: {sw: "Mkoa wa Dodoma", en: "Dodoma Region"}}
      - {id: arusha, label: "Arusha", name: {sw: "Mkoa wa Arusha", en: "Arusha Region"}}
      - {id: zanzibar, label: {sw: "Zanzibar Mjini", en: "Zanzibar Town"}, name: "Unguja"}
      - {id: mwanza, label: "Mwanza", name: {sw: "Mkoa wa Mwanza", en: "Mwanza Region"}}
      - {id: pwani, label: {sw: "Pwani", en: "Coast"}, name: {sw: "Mkoa wa Pwani"}}
  done: {type: end, text: "{{ region }}|{{ region_label }}"}
"""


@pytest.fixture
def regions(tmp_path: Path):
    return build(tmp_path, REGIONS)


@pytest.mark.parametrize(
    ("language", "term", "labels"),
    [
        ("sw", "dar", ["Dar es Salaam"]),
        ("sw", "ZANZIBÁR", ["Zanzibar Mjini"]),  # case and accents do not count
        ("en", "zanzibár", ["Zanzibar Town"]),
        ("en", "coast", ["Coast"]),  # the session's language
        ("sw", "unguja", ["Zanzibar Mjini"]),  # the full name counts too
        ("en", "d", ["Dar es Salaam", "Dodoma"]),
    ],
)
async def test_letters_list_the_matching_entries(
    regions, language: str, term: str, labels: list[str]
) -> None:
    journey = await drive(regions, ["1", term], language=language)
    shown = [label.replace("á", "a") for _, label in entries_of(journey.text)]
    assert shown == labels
    assert journey.session.screen == "pick"
    header = journey.text.splitlines()[0]
    term = term.replace("Á", "A").replace("á", "a")  # echoed in GSM-7 look-alikes
    assert header == (f'Matokeo ya "{term}":' if language == "sw" else f'Results for "{term}":')


async def test_a_number_on_the_results_picks_that_entry(regions) -> None:
    journey = await drive(regions, ["1", "d", "2"], language="en")
    assert journey.text == "dodoma|Dodoma"
    assert "_search" not in journey.session.vars


@pytest.mark.parametrize(
    ("language", "hint"),
    [("sw", 'Hakuna inayolingana na "xyz".'), ("en", 'Nothing matches "xyz".')],
)
async def test_no_match_is_a_hint_on_the_same_screen(regions, language: str, hint: str) -> None:
    before = await drive(regions, ["1"], language=language)
    journey = await drive(regions, ["xyz"], session=before.session)
    assert journey.text == f"{hint}\n{before.text}"
    assert journey.session.vars == before.session.vars


async def test_no_match_on_results_keeps_the_results(regions) -> None:
    results = await drive(regions, ["1", "d"], language="en")
    journey = await drive(regions, ["qq"], session=results.session)
    assert journey.text == f'Nothing matches "qq".\n{results.text}'
    assert (await drive(regions, ["1"], session=journey.session)).text == "dar|Dar es Salaam"


async def test_back_from_the_results_shows_the_whole_list_then_leaves(regions) -> None:
    whole = await drive(regions, ["1"])
    journey = await drive(regions, ["dar", "0", "0"], session=whole.session)
    assert journey.texts[1] == whole.text
    assert journey.screens == ["pick", "pick", "home"]
    assert "0.Rudi" in journey.texts[0].splitlines()[-1]


async def test_a_long_term_is_cut_on_the_screen_and_everything_fits(regions) -> None:
    term = "hakuna kitu kama hiki kabisa duniani"
    journey = await drive(regions, ["1", term])
    first = journey.text.splitlines()[0]
    assert first.startswith('Hakuna inayolingana na "hakuna kitu')
    assert first.endswith('...".')
    assert fits_ussd(journey.text)


async def test_the_term_survives_the_next_hop_as_session_state(regions) -> None:
    results = await drive(regions, ["1", "d"], language="en")
    stored = results.session.loads(results.session.dumps())  # through Redis and back
    journey = await drive(regions, ["2"], session=stored)
    assert journey.text == "dodoma|Dodoma"


async def test_leaving_and_coming_back_shows_the_whole_list(regions) -> None:
    journey = await drive(regions, ["1", "d", "00", "1"])
    assert len(entries_of(journey.text)) == 6


# ---- the shipped institutions list (labels may be reworded: only robust terms) ---------------


@pytest.mark.parametrize("language", ["sw", "en"])
async def test_tan_finds_tanesco_and_tanroads_first_in_every_language(language: str) -> None:
    definition = mrejesho()
    journey = await drive(definition, ["1", "1", "tan"], language=language)
    labels = [label for _, label in entries_of(journey.text)]
    tan_first = [label for label in labels if label.upper().startswith("TAN")]
    assert any(label.startswith("TANESCO") for label in tan_first)
    assert any(label.startswith("TANROADS") for label in tan_first)
    assert labels[: len(tan_first)] == tan_first  # label matches before full-name matches
    pages = [journey.text]
    session = journey.session
    while "98." in pages[-1]:
        turned = await drive(definition, ["98"], session=session)
        session = turned.session
        pages.append(turned.text)
    for text in pages:
        assert fits_ussd(text), (ussd_length(text), text)
    picked = await drive(definition, ["1"], session=journey.session)
    assert picked.session.screen == "body"
    assert picked.session.vars["institution_label"] == labels[0]


# ---- lists from a variable --------------------------------------------------------------------

BILLS = """
service: bills
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Karibu", en: "Welcome"}
    options:
      - {label: {sw: "Bili zangu", en: "My bills"}, next: pick}
  pick:
    type: list
    text: {sw: "Chagua bili", en: "Choose a bill"}
    items_from: bills
    label_length: 24
    save_as: bill
    next: done
  done: {type: end, text: "{{ bill }}: {{ bill_label }}"}
"""


def with_bills(journey, bills):
    session = journey.session.copy()
    session.vars["bills"] = bills
    return session


async def test_a_list_from_a_variable_is_paged_and_picked(tmp_path: Path) -> None:
    definition = build(tmp_path, BILLS)
    home = await drive(definition, language="en")
    bills = [{"id": f"99{n:010d}", "label": f"Water bill month {n:02d}"} for n in range(1, 31)]
    journey = await drive(definition, ["1"], session=with_bills(home, bills))
    pages = [journey.text]
    session = journey.session
    while "98." in pages[-1]:
        turned = await drive(definition, ["98"], session=session)
        session = turned.session
        pages.append(turned.text)
    shown = [label for text in pages for _, label in entries_of(text)]
    assert shown == [bill["label"] for bill in bills]
    assert all(fits_ussd(text) for text in pages)
    picked = await drive(definition, ["2"], session=session)
    assert (
        picked.text
        == f"{bills[len(shown) - len(entries_of(pages[-1])) + 1]['id']}: "
        + (entries_of(pages[-1])[1][1])
    )


async def test_data_labels_are_data_cut_and_never_templates(tmp_path: Path) -> None:
    definition = build(tmp_path, BILLS)
    home = await drive(definition)
    bills = [
        {"id": "a", "label": "{{ 7*7 }} “quoted” and far too long for a label"},
        {"label": "no id: left out"},
        "not a mapping",
        {"id": "b", "label": {"sw": "Maji", "en": "Water"}},
    ]
    journey = await drive(definition, ["1"], session=with_bills(home, bills))
    labels = [label for _, label in entries_of(journey.text)]
    assert labels == ['{{ 7*7 }} "quoted" an...', "Maji"]  # 24 with the cut mark
    searched = await drive(definition, ["maji", "1"], session=journey.session)
    assert searched.text == "b: Maji"


async def test_an_empty_or_missing_list_says_so(tmp_path: Path) -> None:
    definition = build(tmp_path, BILLS)
    journey = await drive(definition, ["1"], language="en")
    assert journey.text == "Choose a bill\nNo more items.\n0.Back 00.Home"
    again = await drive(definition, ["1"], session=journey.session)
    assert again.text.startswith("Invalid choice.\n")


def test_the_validator_accepts_items_from_and_checks_the_label_room() -> None:
    _, problems = parse(BILLS)
    assert [p for p in problems if p.severity == "error"] == []
    _, problems = parse(BILLS.replace("label_length: 24", "label_length: 400"))
    assert any("'label_length' 400 does not fit" in p.message for p in problems)
    _, problems = parse(
        BILLS.replace("items_from: bills", "items_from: bills\n    items: [{id: a, label: A}]")
    )
    assert any("either 'items' or 'items_from'" in p.message for p in problems)
