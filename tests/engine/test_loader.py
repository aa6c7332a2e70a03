"""Loading menus: every problem is reported as ``file:line: screen: message``, all at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.engine.helpers import (
    MREJESHO,
    build,
    dedent,
    drive,
    institutions,
    line_of,
    mrejesho,
    parse,
)
from ussd_gateway.domain.gsm import fits_ussd, ussd_length
from ussd_gateway.domain.session import Session
from ussd_gateway.engine.definition import DefinitionError, Problem
from ussd_gateway.engine.loader import (
    inspect_menu,
    load_catalogue,
    load_menu,
    load_menus,
    worst_case_variables,
)
from ussd_gateway.engine.messages import HINT_KEYS
from ussd_gateway.engine.runner import Engine, HopContext, compose

BASE = """
service: base
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Karibu", en: "Welcome"}
    options:
      - {label: {sw: "Andika", en: "Write"}, next: body}
  body:
    type: input
    text: {sw: "Ujumbe", en: "Message"}
    validate: {max_length: 40}
    save_as: body
    next: confirm
  confirm:
    type: menu
    text: {sw: "Tuma {{ body }}?", en: "Send {{ body }}?"}
    options:
      - {label: {sw: "Ndiyo", en: "Yes"}, next: done}
  done:
    type: end
    text: {sw: "Asante", en: "Thanks"}
"""


def inspect(tmp_path: Path, text: str, **kwargs) -> tuple[Path, list[Problem]]:
    path = tmp_path / "menu.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    _, problems = inspect_menu(path, **kwargs)
    return path, problems


def test_base_menu_is_clean(tmp_path: Path) -> None:
    _, problems = inspect(tmp_path, BASE)
    assert problems == []


SCREEN_OVER = r"re:%s: screen can reach \d{3} characters \(gsm7\), over the 182 a phone shows"
"""A message matched as a regular expression (the exact count depends on the longest hint)."""

CASES = {
    "unknown screen type": (
        BASE.replace("  done:\n    type: end", "  done:\n    type: farewell"),
        "done",
        "type: farewell",
        "unknown screen type 'farewell' "
        "(known: end, fetch, input, list, lookup, menu, router, submit)",
    ),
    "unknown key": (
        BASE.replace("    save_as: body\n", "    save_as: body\n    colour: red\n"),
        "body",
        "colour: red",
        "unknown key 'colour' for an input screen",
    ),
    "next to a missing screen": (
        BASE.replace("next: done}", "next: finish}"),
        "confirm",
        "next: finish}",
        "leads to unknown screen 'finish'",
    ),
    "text missing a language": (
        BASE.replace('{sw: "Ujumbe", en: "Message"}', '{sw: "Ujumbe"}'),
        "body",
        'text: {sw: "Ujumbe"}',
        "'text' has no text in en",
    ),
    "text in an undeclared language": (
        BASE.replace('{sw: "Asante", en: "Thanks"}', '{sw: "Asante", en: "Thanks", fr: "Merci"}'),
        "done",
        "fr: ",
        "'text' has text in undeclared language fr",
    ),
    "long text": (
        BASE.replace(
            '{sw: "Karibu", en: "Welcome"}', '{sw: "Karibu\\n' + "K" * 180 + '", en: "Hi"}'
        ),
        "home",
        "K" * 180,
        SCREEN_OVER % "sw",
    ),
    "long input shown unbounded later": (
        BASE.replace("validate: {max_length: 40}", "validate: {max_length: 300}").replace(
            'en: "Send {{ body }}?"', 'en: "Send:\\n{{ body }}?"'
        ),
        "confirm",
        'en: "Send:\\n{{ body }}?"',
        SCREEN_OVER % "en",
    ),
    "no way forward": (
        BASE.replace("    next: confirm\n", ""),
        "body",
        "type: input",
        "no way forward and not an end screen",
    ),
    "template syntax error": (
        BASE.replace("Tuma {{ body }}?", "Tuma {{ body }?"),
        "confirm",
        "Tuma {{ body }?",
        "'text' has a template error: unexpected '}'",
    ),
}


def _line(text: str, needle: str) -> int:
    if "\n" in needle:  # a needle over two lines: the line of its first part
        lines = dedent(text)
        index = lines.index(needle)
        return lines[:index].count("\n") + 1
    return line_of(text, needle)


@pytest.mark.parametrize("case", list(CASES))
def test_each_problem_names_file_line_and_screen(tmp_path: Path, case: str) -> None:
    text, screen, needle, message = CASES[case]
    assert text != BASE
    path, problems = inspect(tmp_path, text)
    line = _line(text, needle)
    expected = f"{path}:{line}: {screen}: {message}"
    pattern = re.escape(f"{path}:{line}: {screen}: ") + (
        message[3:] if message.startswith("re:") else re.escape(message)
    )
    found = [p for p in problems if re.fullmatch(pattern, str(p))]
    assert found, f"{expected}\nnot in\n" + "\n".join(map(str, problems))
    problem = found[0]
    expected = str(problem)
    assert (problem.file, problem.screen, problem.line, problem.severity) == (
        str(path),
        screen,
        line,
        "error",
    )
    with pytest.raises(DefinitionError) as raised:
        load_menu(path)
    assert expected in str(raised.value).splitlines()


def test_no_way_forward_also_says_what_is_missing(tmp_path: Path) -> None:
    _, problems = inspect(tmp_path, BASE.replace("    next: confirm\n", ""))
    assert [p.message for p in problems if p.screen == "body" and p.severity == "error"] == [
        "missing 'next'",
        "no way forward and not an end screen",
    ]


def test_invalid_yaml_reports_its_line(tmp_path: Path) -> None:
    text = BASE.replace("    save_as: body\n", "   save_as: body\n")  # one space short
    path, problems = inspect(tmp_path, text)
    [problem] = problems
    assert problem.screen == "-"
    assert problem.line == line_of(text, "   save_as: body")
    assert str(problem).startswith(f"{path}:{problem.line}: -: not valid YAML: ")
    with pytest.raises(DefinitionError):
        load_menu(path)


def test_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    definition, problems = inspect_menu(tmp_path / "absent.yaml")
    assert definition is None
    [problem] = problems
    assert problem.message.startswith("cannot read: ")


def test_unreachable_screen_is_a_warning_not_an_error(tmp_path: Path) -> None:
    text = BASE + "  orphan:\n    type: end\n    text: {sw: Peke, en: Alone}\n"
    path, problems = inspect(tmp_path, text)
    [problem] = problems
    assert problem.severity == "warning"
    assert str(problem) == (
        f"{path}:{line_of(text, 'type: end') + 3}: orphan: warning: no path reaches this screen"
    )
    definition = load_menu(path)  # warnings do not stop a menu from being served
    assert "orphan" in definition.screens


def test_load_menu_raises_with_every_error_and_no_warnings(tmp_path: Path) -> None:
    text = (
        BASE.replace("  done:\n    type: end", "  done:\n    type: farewell")
        .replace('{sw: "Ujumbe", en: "Message"}', '{sw: "Ujumbe"}')
        .replace("    save_as: body\n", "    save_as: body\n    colour: red\n")
        + "  orphan:\n    type: end\n    text: {sw: Peke, en: Alone}\n"
    )
    path = tmp_path / "menu.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    with pytest.raises(DefinitionError) as raised:
        load_menu(path)
    problems = raised.value.problems
    assert {p.severity for p in problems} == {"error"}
    assert sorted((p.screen, p.message.split(" (")[0]) for p in problems) == [
        ("body", "'text' has no text in en"),
        ("body", "unknown key 'colour' for an input screen"),
        ("confirm", "leads to unknown screen 'done'"),
        ("done", "unknown screen type 'farewell'"),
    ]
    assert str(raised.value).splitlines() == [str(p) for p in problems]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("service: base", "service: my-service"), "'service' must be a name (letters, digits, _)"),
        (("languages: [sw, en]", "languages: []"), "'languages' must be a non-empty list such as"),
        (("start: home", "start: nowhere"), "'start' must name a screen (got 'nowhere')"),
        (("start: home", "start: home\nversion: 2"), "unknown key 'version'"),
        (
            ("start: home", "start: home\ncodes: '*152*00#'"),
            "'codes' must be a list of short codes",
        ),
        (
            ("start: home", "start: home\nmessages: {greeting: {sw: a, en: b}}"),
            "unknown message 'greeting'",
        ),
    ],
)
def test_top_level_problems(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    _, problems = inspect(tmp_path, BASE.replace(*change))
    errors = [p for p in problems if p.severity == "error" and p.message.startswith(message)]
    assert errors, problems
    for problem in errors:
        assert problem.screen == "-"
        assert problem.line is not None


def test_not_a_mapping() -> None:
    _, problems = parse("- just\n- a list\n")
    assert [p.message for p in problems] == ["a menu file must be a mapping (service, screens...)"]


def test_problem_without_a_line_prints_only_the_file() -> None:
    assert str(Problem("m.yaml", "home", "oops")) == "m.yaml: home: oops"
    assert str(Problem("m.yaml", "home", "oops", 3, "warning")) == "m.yaml:3: home: warning: oops"


async def test_message_overrides_are_used(tmp_path: Path) -> None:
    text = BASE.replace(
        "start: home", 'start: home\nmessages:\n  invalid_choice: {sw: "Hapana hiyo."}'
    )
    definition = build(tmp_path, text)
    journey = await drive(definition, ["5"])
    assert journey.text == "Hapana hiyo.\nKaribu\n1. Andika"
    # a language the override does not give keeps the built-in text
    english = await drive(definition, ["5"], language="en")
    assert english.text == "Invalid choice.\nWelcome\n1. Write"


def test_version_is_a_hash_of_the_file(tmp_path: Path) -> None:
    first = build(tmp_path, BASE)
    again = build(tmp_path, BASE)
    changed = build(tmp_path, BASE.replace("Asante", "Ahsante"))
    assert re.fullmatch(r"[0-9a-f]{12}", first.version)
    assert first.version == again.version != changed.version


def test_load_menus_rejects_a_service_defined_twice(tmp_path: Path) -> None:
    for name in ["a.yaml", "b.yaml"]:
        (tmp_path / name).write_text(dedent(BASE), encoding="utf-8")
    with pytest.raises(DefinitionError) as raised:
        load_menus([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    assert [str(p) for p in raised.value.problems if "twice" in p.message] == [
        f"{tmp_path / 'b.yaml'}: -: service 'base' defined twice"
    ]


# ---- bugs found and fixed ----------------------------------------------------------------------


def test_message_override_that_is_not_a_mapping_is_a_problem(tmp_path: Path) -> None:
    _, problems = inspect(
        tmp_path, BASE.replace("start: home", "start: home\nmessages:\n  back: Nyuma")
    )
    assert any(p.severity == "error" and "back" in p.message for p in problems)


def test_plain_text_navigation_word_beside_a_list_is_a_problem(tmp_path: Path) -> None:
    """List pages are sized with the navigation words, so a bad override must not crash them."""
    menu = tmp_path / "list.yaml"
    menu.write_text(
        "service: x\nlanguages: [sw]\nstart: l\nmessages:\n  more: Zaidi\nscreens:\n"
        "  l: {type: list, text: Chagua, items: [{id: a, label: A}], save_as: v, next: e}\n"
        "  e: {type: end, text: ok}\n"
    )
    _, problems = inspect_menu(menu)
    assert [p.message for p in problems] == [
        "message 'more' must give a text per language, e.g. {sw: ..., en: ...}"
    ]


def test_message_override_with_an_unknown_placeholder_is_a_problem(tmp_path: Path) -> None:
    override = (
        'start: home\nmessages:\n  too_long: {sw: "Herufi {max} {upeo}", en: "At most {max}"}'
    )
    _, problems = inspect(tmp_path, BASE.replace("start: home", override))
    assert any(p.severity == "error" and "too_long" in p.message for p in problems)


def test_template_failing_at_render_time_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    text = BASE.replace("Tuma {{ body }}?", "Tuma {{ body + 1 }}?")
    _, problems = inspect(tmp_path, text)  # must not raise
    assert all(p.screen == "confirm" for p in problems)


@pytest.mark.parametrize(
    "change",
    [
        ('{sw: "Karibu", en: "Welcome"}', '{sw: "' + "K" * 190 + '", en: "Welcome"}'),
        ("validate: {max_length: 40}", "validate: {max_length: 300}"),
    ],
    ids=["long first line", "long input in a later first line"],
)
async def test_screen_too_long_in_its_first_line_is_a_problem(
    tmp_path: Path, change: tuple[str, str]
) -> None:
    _, problems = inspect(tmp_path, BASE.replace(*change))
    assert any("over the 182 a phone shows" in p.message for p in problems)


async def test_custom_hint_is_measured_too(tmp_path: Path) -> None:
    text = BASE.replace(
        '    text: {sw: "Ujumbe", en: "Message"}\n',
        '    text: {sw: "Ujumbe\\n' + "U" * 120 + '", en: "Message"}\n'
        '    hint: {sw: "' + "H" * 60 + '", en: "Wrong."}\n',
    )
    _, problems = inspect(tmp_path, text)
    assert any(p.screen == "body" and "with its hint" in p.message for p in problems), (
        problems
    )  # the citizen would get a screen cut off, so the loader must say so


# ---- the shipped menu and catalogue ----------------------------------------------------------


def test_mrejesho_loads_without_any_problem() -> None:
    definition, problems = inspect_menu(MREJESHO, catalogues={"institutions": institutions()})
    assert problems == []
    assert definition is not None
    assert definition.service == "mrejesho"
    assert definition.languages == ("sw", "en")
    assert definition.start == "home"


def test_mrejesho_needs_its_catalogue() -> None:
    with pytest.raises(DefinitionError) as raised:
        load_menu(MREJESHO)
    assert [(p.screen, p.message) for p in raised.value.problems] == [
        ("institution", "'items' names unknown catalogue 'institutions'")
    ]


@pytest.mark.parametrize("language", ["sw", "en"])
def test_every_page_of_every_mrejesho_screen_fits_with_any_hint(language: str) -> None:
    definition = mrejesho()
    variables = worst_case_variables(definition)
    hints = [None, *(definition.message(k, language, min=999, max=999) for k in HINT_KEYS)]
    measured = 0
    for screen in definition.screens.values():
        if not screen.interactive:
            continue
        session = Session(key="k", service="mrejesho", phone="", language=language)
        session.screen = screen.id
        session.vars = dict(variables)
        hop = HopContext(definition, session)
        for page in range(screen.pages(hop)):
            session.page = page
            for hint in [None] if screen.ends else hints:
                text = compose(hint, screen.render(hop))
                assert fits_ussd(text), (screen.id, page, ussd_length(text), text)
                measured += 1
    assert measured > 100


def test_institutions_catalogue() -> None:
    catalogue = institutions()
    assert catalogue.name == "institutions"
    assert len(catalogue.items) == 59
    ids = [item.id for item in catalogue.items]
    assert len(set(ids)) == len(ids)
    for item in catalogue.items:
        assert re.fullmatch(r"[a-z0-9_]+", item.id), item.id
        assert set(item.label) == set(item.name) == {"sw", "en"}, item.id
        assert all(len(label) <= 28 for label in item.label.values()), item.label


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("catalogue: x\nitems: {a: 1}\n", "a catalogue needs 'items': a list"),
        ("items:\n  - {id: a}\n", "item without id/label"),
        ("items:\n  - {id: a, label: A}\n  - {id: a, label: B}\n", "duplicate item ids"),
    ],
)
def test_broken_catalogue_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cat.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError, match=re.escape(message)):
        load_catalogue(path)


def test_catalogue_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "regions.yaml"
    path.write_text("items:\n  - {id: dar, label: Dar es Salaam}\n", encoding="utf-8")
    catalogue = load_catalogue(path)
    assert catalogue.name == "regions"
    assert catalogue.items[0].label_in("en", "sw") == "Dar es Salaam"


async def test_engine_runs_a_freshly_loaded_mrejesho() -> None:
    journey = await drive(mrejesho(), [], engine=Engine())
    assert journey.text == (
        "Karibu e-Mrejesho\n1. Toa mrejesho\n2. Fuatilia mrejesho\n3. Lugha / Language"
    )
