"""``input`` screens: what a citizen types is validated, normalised and saved, or hinted at."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import FOOTER_EN, FOOTER_SW, build, drive, parse
from ussd_gateway.domain.references import ALPHABET, new_reference
from ussd_gateway.engine.screens.input import normalise_phone


def input_menu(validate: str, *, hint: str = "", languages: str = "[sw, en]") -> str:
    """A start menu leading to one input screen, whose value the end screen shows."""
    hint_line = f"\n    hint: {hint}" if hint else ""
    return f"""
service: form
languages: {languages}
start: home
screens:
  home:
    type: menu
    text: {{sw: "Karibu", en: "Welcome"}}
    options:
      - {{label: {{sw: "Jaza", en: "Fill"}}, next: ask}}
  ask:
    type: input
    text: {{sw: "Andika", en: "Type"}}
    validate: {validate}{hint_line}
    save_as: value
    next: done
  done:
    type: end
    text: {{sw: "Umeandika [{{{{ value }}}}]", en: "You typed [{{{{ value }}}}]"}}
"""


async def run(tmp_path: Path, validate: str, entries: list[str], **kwargs):
    definition = build(tmp_path, input_menu(validate, **kwargs.pop("menu", {})))
    return await drive(definition, ["1", *entries], **kwargs)


async def test_input_screen_shows_its_text_and_the_footer(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{max_length: 20}", [])
    assert journey.text == f"Andika\n{FOOTER_SW}"
    english = await run(tmp_path, "{max_length: 20}", [], language="en")
    assert english.text == f"Type\n{FOOTER_EN}"


async def test_valid_entry_is_saved_and_leads_on(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{min_length: 3, max_length: 20}", ["Habari yako"])
    assert journey.session.vars["value"] == "Habari yako"
    assert journey.text == "Umeandika [Habari yako]"
    assert journey.session.history == ["home", "ask"]


@pytest.mark.parametrize(
    ("validate", "entry", "sw", "en"),
    [
        ("{min_length: 5}", "abcd", "Andika angalau herufi 5.", "Type at least 5 characters."),
        ("{max_length: 10}", "abcdefghijk", "Usizidishe herufi 10.", "Type at most 10 characters."),
        ("{digits: true}", "12a4", "Andika tarakimu tu.", "Type digits only."),
        ("{pattern: '[A-Z]{2}[0-9]{3}'}", "AB12", "Muundo si sahihi.", "Invalid format."),
        ("{pattern: '[A-Z]{2}[0-9]{3}'}", "xAB123", "Muundo si sahihi.", "Invalid format."),
        ("{phone: true}", "0712", "Namba ya simu si sahihi.", "Invalid phone number."),
        ('{choices: ["YES", "NO"]}', "maybe", "Chaguo si sahihi.", "Invalid choice."),
        (
            "{reference: true}",
            "ABC",
            "Namba ya kumbukumbu si sahihi.",
            "Invalid reference number.",
        ),
    ],
)
async def test_wrong_entry_shows_the_screen_again_with_a_hint(
    tmp_path: Path, validate: str, entry: str, sw: str, en: str
) -> None:
    journey = await run(tmp_path, validate, [entry])
    assert journey.text == f"{sw}\nAndika\n{FOOTER_SW}"
    assert journey.session.screen == "ask"
    assert "value" not in journey.session.vars
    english = await run(tmp_path, validate, [entry], language="en")
    assert english.text == f"{en}\nType\n{FOOTER_EN}"


@pytest.mark.parametrize("entry", ["abcde", "abcdefghij"])
async def test_length_bounds_are_inclusive(tmp_path: Path, entry: str) -> None:
    journey = await run(tmp_path, "{min_length: 5, max_length: 10}", [entry])
    assert journey.session.vars["value"] == entry


async def test_digits_accepts_only_digits(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{digits: true, max_length: 6}", ["004512"])
    assert journey.session.vars["value"] == "004512"


async def test_pattern_must_match_the_whole_entry(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{pattern: '[A-Z]{2}[0-9]{3}'}", ["TZ123"])
    assert journey.session.vars["value"] == "TZ123"


async def test_wrong_entry_can_be_corrected(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{min_length: 5}", ["abc", "abcdef"])
    assert journey.screens == ["home", "ask", "ask", "done"]
    assert journey.session.vars["value"] == "abcdef"


@pytest.mark.parametrize(
    "entry",
    [
        "0712345678",
        "+255712345678",
        "255712345678",
        "00255712345678",
        "0712 345 678",
        "0712-345-678",
    ],
)
async def test_phone_is_saved_in_international_form(tmp_path: Path, entry: str) -> None:
    journey = await run(tmp_path, "{phone: true}", [entry])
    assert journey.session.vars["value"] == "+255712345678"
    assert journey.text == "Umeandika [+255712345678]"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("0754000111", "+255754000111"),
        ("+254712345678", "+254712345678"),  # a Kenyan number stays Kenyan
        ("071234567", None),  # one digit short
        ("25571234567", None),  # Tanzanian with a digit missing
        ("07123abc78", None),
        ("", None),
    ],
)
def test_normalise_phone(entry: str, expected: str | None) -> None:
    assert normalise_phone(entry) == expected


@pytest.mark.parametrize("entry", ["07123456789", "+0712345678", "012345678901"])
def test_normalise_phone_rejects_numbers_without_a_country_code(entry: str) -> None:
    assert normalise_phone(entry) is None


@pytest.mark.parametrize("entry", ["ndiyo", "NDIYO", "Ndiyo", "nDiYo"])
async def test_choices_ignore_case_and_save_the_declared_spelling(
    tmp_path: Path, entry: str
) -> None:
    journey = await run(tmp_path, "{choices: [Ndiyo, Hapana]}", [entry])
    assert journey.session.vars["value"] == "Ndiyo"
    assert journey.text == "Umeandika [Ndiyo]"


async def test_unquoted_yes_no_choices_are_reported(tmp_path: Path) -> None:
    _, problems = parse(input_menu("{choices: [yes, no]}"))
    assert any(p.severity == "error" and "quote yes/no" in p.message for p in problems)
    journey = await run(tmp_path, '{choices: ["yes", "no"]}', ["YES"])
    assert journey.session.vars.get("value") == "yes"


async def test_reference_is_checked_and_normalised(tmp_path: Path) -> None:
    reference = new_reference()
    typed = f"{reference[:4].lower()} - {reference[4:].lower()}"
    journey = await run(tmp_path, "{reference: true}", [typed])
    assert journey.session.vars["value"] == reference


async def test_mistyped_reference_is_caught_by_its_check_symbol(tmp_path: Path) -> None:
    reference = new_reference()
    # change one symbol for another of the alphabet: the check symbol no longer matches
    wrong = ALPHABET[(ALPHABET.index(reference[2]) + 1) % len(ALPHABET)]
    mistyped = reference[:2] + wrong + reference[3:]
    journey = await run(tmp_path, "{reference: true}", [mistyped])
    assert journey.session.screen == "ask"
    assert journey.text.startswith("Namba ya kumbukumbu si sahihi.\n")
    # swapping two neighbours is caught too (when they differ)
    if reference[0] != reference[1]:
        swapped = reference[1] + reference[0] + reference[2:]
        journey = await run(tmp_path, "{reference: true}", [swapped])
        assert journey.session.screen == "ask"


async def test_custom_hint_replaces_every_built_in_hint(tmp_path: Path) -> None:
    menu = {"hint": '{sw: "Jina tu, herufi 2-5.", en: "A name, 2-5 letters."}'}
    for entry in ["a", "abcdefg", "ab1"]:
        journey = await run(
            tmp_path, "{min_length: 2, max_length: 5, pattern: '[a-z]+'}", [entry], menu=menu
        )
        assert journey.text == f"Jina tu, herufi 2-5.\nAndika\n{FOOTER_SW}"
    english = await run(tmp_path, "{min_length: 2}", ["a"], menu=menu, language="en")
    assert english.text == f"A name, 2-5 letters.\nType\n{FOOTER_EN}"


async def test_custom_hint_may_use_variables(tmp_path: Path) -> None:
    menu = {"hint": '{sw: "Si {{ language }}", en: "Not {{ language }}"}'}
    journey = await run(tmp_path, "{digits: true}", ["x"], menu=menu)
    assert journey.text.startswith("Si sw\n")


async def test_back_key_is_not_saved_as_an_entry(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{digits: true}", ["0"])
    assert journey.session.screen == "home"
    assert "value" not in journey.session.vars


# ---- definition problems --------------------------------------------------------------------


def _errors(text: str) -> list[str]:
    _, problems = parse(text)
    return [p.message for p in problems if p.severity == "error"]


def test_input_without_validation_is_a_warning() -> None:
    _, problems = parse(input_menu("{}").replace("    validate: {}\n", ""))
    warnings = [p for p in problems if p.severity == "warning"]
    assert [(p.screen, p.message) for p in warnings] == [
        ("ask", "input has no validation: anything typed is accepted")
    ]
    assert not [p for p in problems if p.severity == "error"]


@pytest.mark.parametrize(
    ("validate", "message"),
    [
        ("{min_length: 5, max_length: 2}", "'min_length' is larger than 'max_length'"),
        ("{max_length: -1}", "'max_length' must be a whole number"),
        ("{min_length: two}", "'min_length' must be a whole number"),
        ("{pattern: '[a-'}", "'pattern' is not a valid regular expression"),
        ("{digits: maybe}", "'digits' must be true or false"),
        ("{choices: []}", "'choices' must be a non-empty list"),
        ("{emoji: true}", "unknown validation 'emoji'"),
        ("[1, 2]", "'validate' must be a mapping"),
    ],
)
def test_invalid_validation_is_an_error(validate: str, message: str) -> None:
    errors = _errors(input_menu(validate))
    assert any(e.startswith(message) for e in errors), errors


def test_save_as_must_be_a_variable_name() -> None:
    errors = _errors(input_menu("{max_length: 5}").replace("save_as: value", "save_as: 2x"))
    assert "'save_as' must be a variable name (letters, digits, _)" in errors


# ---- cut: true, an over-long entry offered cut instead of refused ----

LONG = "Umeme umekatika tangu Jumatatu na hakuna aliyekuja"  # 50 characters


async def test_over_long_entry_without_cut_is_refused(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{max_length: 40}", [LONG])
    assert journey.text.startswith("Usizidishe herufi 40.\nAndika")


async def test_over_long_entry_is_offered_cut_showing_where_it_ends(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{max_length: 40, cut: true}", [LONG])
    assert journey.session.screen == "ask"
    assert journey.text == (
        "Ujumbe ni mrefu. Tutatuma herufi 40 za kwanza, hadi:\n"
        '"...atika tangu Jumatatu na hakuna"\n'
        f"1. Sawa, tuma hivyo\n2. Andika upya\n{FOOTER_SW}"
    )
    definition = build(tmp_path, input_menu("{max_length: 40, cut: true}"))
    sent = await drive(definition, ["1"], session=journey.session)
    assert sent.text == f"Umeandika [{LONG[:40]}]"
    assert sent.session.vars == {"value": LONG[:40]}


async def test_type_again_or_back_returns_to_the_prompt_and_keeps_nothing(tmp_path: Path) -> None:
    definition = build(tmp_path, input_menu("{max_length: 40, cut: true}"))
    for key in ("2", "0"):
        journey = await drive(definition, ["1", LONG, key])
        assert journey.text == f"Andika\n{FOOTER_SW}"
        retyped = await drive(definition, ["short enough"], session=journey.session)
        assert retyped.session.vars == {"value": "short enough"}


async def test_anything_but_1_or_2_on_the_cut_question_names_the_choices(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{max_length: 40, cut: true}", [LONG, "3"], language="en")
    assert journey.text.startswith("Invalid choice. Pick 1-2.\nYour message is long.")


async def test_a_cut_entry_must_still_pass_the_other_checks(tmp_path: Path) -> None:
    journey = await run(tmp_path, "{max_length: 10, digits: true, cut: true}", ["12345abcdefgh"])
    assert journey.text.startswith("Andika tarakimu tu.\nAndika")
