"""``router`` screens: branch on what the citizen chose, without showing anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import build, drive, line_of, parse

ROUTER = """
service: routes
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Aina", en: "Kind"}
    options:
      - {label: {sw: "Malalamiko", en: "Complaint"}, set: {kind: complaint}, next: who}
      - {label: {sw: "Pongezi", en: "Compliment"}, set: {kind: compliment}, next: who}
      - {label: {sw: "Nyingine", en: "Other"}, next: who}
      - {label: {sw: "Umri", en: "Age"}, next: age}
      - {label: {sw: "English", en: "English"}, language: en, next: home}
  who:
    type: router
    routes:
      - {when: "kind == 'complaint'", next: complaint}
      - {when: "kind == 'compliment' and language == 'en'", next: thanks_en}
      - {when: "kind == 'compliment'", next: thanks}
    default: other
  age:
    type: input
    text: {sw: "Umri", en: "Age"}
    validate: {max_length: 3}
    save_as: age
    next: adult
  adult:
    type: router
    routes:
      - {when: "age | int >= 18", next: grown}
      - {when: "age > 200", next: grown}
    default: child
  complaint: {type: end, text: "complaint"}
  thanks: {type: end, text: "thanks"}
  thanks_en: {type: end, text: "thanks in English"}
  other: {type: end, text: "other"}
  grown: {type: end, text: "grown"}
  child: {type: end, text: "child"}
"""


@pytest.fixture
def menu(tmp_path: Path):
    return build(tmp_path, ROUTER)


@pytest.mark.parametrize(
    ("entries", "screen"),
    [
        (["1"], "complaint"),
        (["2"], "thanks"),
        (["5", "2"], "thanks_en"),
        (["5", "1"], "complaint"),
    ],
)
async def test_router_branches_on_variables(menu, entries: list[str], screen: str) -> None:
    journey = await drive(menu, entries)
    assert journey.session.screen == screen
    assert journey.text == menu.screens[screen].text.render("sw", {})


async def test_router_falls_to_default_when_no_route_matches(menu) -> None:
    journey = await drive(menu, ["3"])
    assert "kind" not in journey.session.vars
    assert journey.session.screen == "other"


async def test_first_matching_route_wins(menu) -> None:
    # "kind == 'compliment'" also matches in English, but the English route comes first
    journey = await drive(menu, ["5", "2"])
    assert journey.session.screen == "thanks_en"


@pytest.mark.parametrize(("age", "screen"), [("18", "grown"), ("70", "grown"), ("9", "child")])
async def test_router_may_use_filters(menu, age: str, screen: str) -> None:
    journey = await drive(menu, ["4", age])
    assert journey.session.screen == screen


async def test_condition_that_fails_to_evaluate_does_not_match(menu) -> None:
    # "abc" | int is 0 (not grown); "abc" > 200 raises TypeError: that route is skipped
    journey = await drive(menu, ["4", "abc"])
    assert journey.session.screen == "child"


async def test_router_is_never_shown_nor_kept_in_history(menu) -> None:
    journey = await drive(menu, ["1"])
    assert journey.screens == ["home", "complaint"]
    assert "who" not in journey.session.history
    assert ("router", "who") in journey.last.events


def test_router_without_routes_or_default_is_an_error() -> None:
    text = """
    service: r
    languages: [sw]
    start: r
    screens:
      r:
        type: router
        routes: []
      e: {type: end, text: bye}
    """
    _, problems = parse(text)
    errors = {(p.screen, p.message, p.line) for p in problems if p.severity == "error"}
    line = line_of(text, "type: router")
    assert ("r", "'routes' must be a non-empty list of {when, next}", line) in errors
    assert ("r", "missing 'default'", line) in errors


def test_invalid_route_condition_is_an_error_on_its_line() -> None:
    text = """
    service: r
    languages: [sw]
    start: m
    screens:
      m:
        type: menu
        text: Aina
        options: [{label: X, set: {kind: x}, next: r}]
      r:
        type: router
        routes:
          - {when: "kind ==", next: e}
          - {when: "kind == 'x'", next: e}
        default: e
      e: {type: end, text: bye}
    """
    _, problems = parse(text)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 1
    assert errors[0].screen == "r"
    assert errors[0].line == line_of(text, 'when: "kind =="')
    assert errors[0].message.startswith("route condition 'kind ==' is invalid")
    assert str(errors[0]).startswith(f"menu.yaml:{errors[0].line}: r: route condition")
