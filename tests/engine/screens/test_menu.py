"""``menu`` screens: numbered options, the navigation footer, wrong choices, language switches."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import FOOTER_EN, FOOTER_SW, build, drive, parse
from ussd_gateway.domain.session import SessionStatus

MENU = """
service: shop
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Karibu", en: "Welcome"}
    options:
      - {label: {sw: "Nunua", en: "Buy"}, set: {kind: buy}, next: pick}
      - {label: {sw: "Uza", en: "Sell"}, set: {kind: sell, size: big}, next: pick}
      - {label: {sw: "English", en: "Kiswahili"}, language: en, next: home}
  pick:
    type: menu
    text: {sw: "Umechagua {{ kind }}", en: "You chose {{ kind }}"}
    options:
      - {label: {sw: "Sawa", en: "OK"}, next: done}
      - {label: {sw: "Kiswahili", en: "Kiswahili"}, language: sw, next: pick}
  done:
    type: end
    text: {sw: "Kwaheri", en: "Goodbye"}
"""


@pytest.fixture
def menu(tmp_path: Path):
    return build(tmp_path, MENU)


async def test_start_screen_shows_numbered_options_and_no_footer(menu) -> None:
    journey = await drive(menu)
    assert journey.text == "Karibu\n1. Nunua\n2. Uza\n3. English"
    assert journey.session.screen == "home"
    assert not journey.last.reply.end


async def test_other_screens_end_with_the_navigation_footer(menu) -> None:
    journey = await drive(menu, ["1"])
    assert journey.text == f"Umechagua buy\n1. Sawa\n2. Kiswahili\n{FOOTER_SW}"
    assert journey.text.splitlines()[-1] == "0.Rudi 00.Mwanzo"


async def test_footer_is_translated(menu) -> None:
    journey = await drive(menu, ["1"], language="en")
    assert journey.text == f"You chose buy\n1. OK\n2. Kiswahili\n{FOOTER_EN}"


async def test_choice_goes_to_its_screen_and_sets_variables(menu) -> None:
    journey = await drive(menu, ["2"])
    assert journey.session.screen == "pick"
    assert journey.session.vars == {"kind": "sell", "size": "big"}
    assert journey.session.history == ["home"]


@pytest.mark.parametrize("entry", ["4", "9", "abc", "", "*", "1.5", "-1"])
async def test_wrong_choice_shows_the_same_screen_with_a_hint(menu, entry: str) -> None:
    before = await drive(menu, ["1"])
    after = await drive(menu, [entry], session=before.session)
    assert after.text == f"Chaguo si sahihi. Chagua 1-2.\n{before.text}"
    assert after.session.screen == "pick"
    assert after.session.vars == before.session.vars
    assert after.session.history == before.session.history


async def test_wrong_choice_hint_is_in_the_session_language(menu) -> None:
    journey = await drive(menu, ["7"], language="en")
    assert journey.text == "Invalid choice. Pick 1-3.\nWelcome\n1. Buy\n2. Sell\n3. Kiswahili"


async def test_back_and_home_keys_are_not_options_on_the_start_screen(menu) -> None:
    journey = await drive(menu, ["0", "00"])
    assert journey.texts[1].startswith("Chaguo si sahihi. Chagua 1-3.\n")
    assert journey.texts[2].startswith("Chaguo si sahihi. Chagua 1-3.\n")
    assert journey.screens == ["home", "home", "home"]


async def test_entry_is_stripped_of_spaces(menu) -> None:
    journey = await drive(menu, [" 1 "])
    assert journey.session.screen == "pick"


async def test_option_with_language_switches_language(menu) -> None:
    journey = await drive(menu, ["3"])
    assert journey.last.language_changed == "en"
    assert journey.session.language == "en"
    assert journey.text == "Welcome\n1. Buy\n2. Sell\n3. Kiswahili"
    # and the hints follow the new language
    wrong = await drive(menu, ["8"], session=journey.session)
    assert wrong.text.startswith("Invalid choice. Pick 1-3.\n")


async def test_switching_back_reports_the_new_language(menu) -> None:
    journey = await drive(menu, ["3", "1", "2"])
    assert [r.language_changed for r in journey.results] == [None, "en", None, "sw"]
    assert journey.session.language == "sw"
    assert journey.text.startswith("Umechagua buy\n")


async def test_ordinary_choice_does_not_report_a_language_change(menu) -> None:
    journey = await drive(menu, ["1"])
    assert journey.last.language_changed is None


async def test_choice_leading_to_an_end_screen_completes(menu) -> None:
    journey = await drive(menu, ["1", "1"])
    assert journey.text == "Kwaheri"
    assert journey.last.reply.end
    assert journey.session.status is SessionStatus.COMPLETED


# ---- definition problems --------------------------------------------------------------------


def _messages(problems) -> list[str]:
    return [p.message for p in problems if p.severity == "error"]


def test_more_than_nine_options_is_an_error() -> None:
    options = "\n".join(f"      - {{label: {{sw: o{n}, en: o{n}}}, next: home}}" for n in range(10))
    text = f"""
service: s
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {{sw: a, en: b}}
    options:
{options}
"""
    _, problems = parse(text)
    assert "a menu shows at most 9 options; use a list screen" in _messages(problems)


def test_option_to_an_undeclared_language_is_an_error() -> None:
    _, problems = parse(
        """
        service: s
        languages: [sw, en]
        start: home
        screens:
          home:
            type: menu
            text: {sw: a, en: b}
            options:
              - {label: {sw: Kifaransa, en: French}, language: fr, next: home}
        """
    )
    assert "option switches to undeclared language 'fr'" in _messages(problems)


def test_unknown_option_key_and_empty_options_are_errors() -> None:
    _, problems = parse(
        """
        service: s
        languages: [sw]
        start: home
        screens:
          home:
            type: menu
            text: a
            options:
              - {label: x, next: other, goto: home}
          other:
            type: menu
            text: b
            options: []
        """
    )
    messages = _messages(problems)
    assert "unknown option key 'goto'" in messages
    assert "'options' must be a non-empty list" in messages
    screens = {p.screen for p in problems if p.severity == "error"}
    assert {"home", "other"} <= screens
