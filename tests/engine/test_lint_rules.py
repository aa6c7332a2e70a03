"""Every validation rule: a menu that breaks it (blamed on the exact line) and one that does not."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.engine.helpers import dedent, line_of
from ussd_gateway.application.menus.routing import ServiceRouter
from ussd_gateway.engine.definition import Catalogue, CatalogueItem, DefinitionError, Problem
from ussd_gateway.engine.lint import RULES, check_codes
from ussd_gateway.engine.loader import inspect_menus, load_menus

BASE = """
service: base
owner: {institution: Taasisi, contact: huduma@taasisi.go.tz}
backend: feedback
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
    next: who
  who:
    type: menu
    text: {sw: "Jina?", en: "Name?"}
    options:
      - {label: {sw: "Ndiyo", en: "Yes"}, set: {anonymous: false}, next: confirm}
      - {label: {sw: "Hapana", en: "No"}, set: {anonymous: true}, next: confirm}
  confirm:
    type: menu
    text:
      sw: "Tuma {{ body }}?{% if not anonymous %} (na jina){% endif %}"
      en: "Send {{ body }}?"
    options:
      - {label: {sw: "Ndiyo", en: "Yes"}, next: send}
  send:
    type: submit
    backend: feedback
    next: done
  done:
    type: end
    text: {sw: "Asante {{ reference }}", en: "Thanks {{ reference }} ({{ language }})"}
"""

OTHER = """
service: other
languages: [sw]
start: home
codes: ["*152*01#"]
owner: {institution: Nyingine, contact: "+255700000000"}
backend: other
keywords:
  - word: {sw: HABARI}
screens:
  home: {type: end, text: "Habari"}
"""

LONG = "N" * 180
CATALOGUE = Catalogue(
    "places",
    (
        CatalogueItem("a", {"sw": "Arusha", "en": "Arusha"}, {"sw": "Arusha", "en": "Arusha"}),
        CatalogueItem("b", {"sw": "B" * 150, "en": "B"}, {"sw": "B" * 150, "en": "B"}),
    ),
)
"""A catalogue whose longest entry fits its own list page but not a later screen showing it."""

LIST_SCREEN = """  body:
    type: list
    text: {sw: "Mahali", en: "Place"}
    items: places
    save_as: place
    next: who
"""


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def swap_body_for_list(text: str) -> str:
    start = text.index("  body:\n")
    end = text.index("  who:\n")
    return text[:start] + LIST_SCREEN + text[end:]


@dataclass(frozen=True)
class Case:
    rule: str
    name: str
    text: str
    screen: str
    needle: str
    """Text on the line the problem must be blamed on."""
    message: str
    """A regular expression the whole message must match."""
    before: tuple[str, ...] = ()
    """Other menu files validated before this one."""
    catalogues: dict[str, Catalogue] = field(default_factory=dict)


FAILING = [
    Case(
        "yaml",
        "bad indentation",
        replace(BASE, "    save_as: body\n", "   save_as: body\n"),
        "-",
        "   save_as: body",
        r"not valid YAML: .*",
    ),
    Case(
        "schema",
        "unknown screen type",
        replace(BASE, "  done:\n    type: end", "  done:\n    type: farewell"),
        "done",
        "type: farewell",
        r"unknown screen type 'farewell' "
        r"\(known: end, fetch, input, list, lookup, menu, router, submit\)",
    ),
    Case(
        "schema",
        "unknown key, on its own line",
        replace(BASE, "    save_as: body\n", "    save_as: body\n    colour: red\n"),
        "body",
        "colour: red",
        r"unknown key 'colour' for an input screen",
    ),
    Case(
        "schema",
        "unknown top-level key, on its own line",
        replace(BASE, "start: home\n", "start: home\nversion: 2\n"),
        "-",
        "version: 2",
        r"unknown key 'version'",
    ),
    Case(
        "schema",
        "wrong value type",
        replace(BASE, "    save_as: body\n", "    save_as: [body]\n"),
        "body",
        "save_as: [body]",
        r"'save_as' must be a variable name \(letters, digits, _\)",
    ),
    Case(
        "schema",
        "wrong value type of a screen reference",
        replace(BASE, "    next: who\n", "    next: {screen: who}\n"),
        "body",
        "next: {screen: who}",
        r"'next' must name a screen",
    ),
    Case(
        "duplicate-key",
        "a screen pasted twice",
        BASE + "  done: {type: end, text: {sw: Kwaheri, en: Bye}}\n",
        "done",
        "Kwaheri",
        r"screen defined twice; the first is ignored",
    ),
    Case(
        "unknown-screen",
        "next names no screen",
        replace(BASE, "next: done", "next: finish"),
        "send",
        "type: submit",
        r"leads to unknown screen 'finish'",
    ),
    Case(
        "unreachable",
        "an orphan screen",
        BASE + "  orphan: {type: end, text: {sw: Peke, en: Alone}}\n",
        "orphan",
        "  orphan:",
        r"no path reaches this screen",
    ),
    Case(
        "dead-end",
        "an input without next",
        replace(BASE, "    next: who\n", ""),
        "body",
        "type: input",
        r"no way forward and not an end screen",
    ),
    Case(
        "missing-language",
        "a text without English",
        replace(BASE, '{sw: "Ujumbe", en: "Message"}', '{sw: "Ujumbe"}'),
        "body",
        'text: {sw: "Ujumbe"}',
        r"'text' has no text in en",
    ),
    Case(
        "missing-language",
        "an option label without English",
        replace(BASE, '{label: {sw: "Andika", en: "Write"}', '{label: {sw: "Andika"}'),
        "home",
        'label: {sw: "Andika"}',
        r"'label' has no text in en",
    ),
    Case(
        "too-long",
        "a long text",
        replace(BASE, '{sw: "Karibu", en: "Welcome"}', f'{{sw: "Karibu", en: "{LONG}W"}}'),
        "home",
        "NNNNNNNNNN",
        r"en: screen can reach 1\d\d characters \(gsm7\), over the 182 a phone shows",
    ),
    Case(
        "too-long",
        "the navigation footer pushes it over",
        replace(BASE, '{sw: "Jina?", en: "Name?"}', '{sw: "Jina?", en: "' + "W" * 160 + '"}'),
        "who",
        "WWWWWWWWWW",
        r"en: screen can reach 1[89]\d characters \(gsm7\), over the 182 a phone shows",
    ),
    Case(
        "too-long",
        "an input's max_length shown later",
        replace(BASE, "validate: {max_length: 40}", "validate: {max_length: 160}"),
        "confirm",
        'sw: "Tuma',
        r"sw: screen can reach \d{3} characters \(gsm7\), over the 182 a phone shows.*",
    ),
    Case(
        "too-long",
        "the branch shown when a boolean is false",
        replace(BASE, " (na jina)", " " + "J" * 130),
        "confirm",
        'sw: "Tuma',
        r"sw: screen can reach \d{3} characters \(gsm7\), over the 182 a phone shows.*",
    ),
    Case(
        "too-long",
        "the branch shown when a boolean is true, named in the message",
        replace(
            BASE,
            'en: "Send {{ body }}?"',
            'en: "Send {{ body }}?{% if anonymous %} ' + "A" * 140 + '{% endif %}"',
        ),
        "confirm",
        'en: "Send',
        r"en: screen can reach \d{3} characters \(gsm7\), over the 182 a phone shows "
        r"when anonymous=True",
    ),
    Case(
        "too-long",
        "the longest catalogue entry shown later",
        swap_body_for_list(replace(BASE, "Tuma {{ body }}?", "Tuma {{ place_label }}?")).replace(
            "Send {{ body }}?", "Send {{ place_label }}?"
        ),
        "confirm",
        'sw: "Tuma',
        r"sw: screen can reach \d{3} characters \(gsm7\), over the 182 a phone shows.*",
        catalogues={"places": CATALOGUE},
    ),
    Case(
        "too-long",
        "UCS-2 characters leave only 80",
        replace(
            BASE, '{sw: "Karibu", en: "Welcome"}', '{sw: "Karibu “' + "K" * 75 + '”", en: "Hi"}'
        ),
        "home",
        "Karibu “",
        r"sw: screen can reach \d+ characters \(ucs2\), over the 80 a phone shows",
    ),
    Case(
        "duplicate-code",
        "two menu files claim one short code",
        replace(BASE, "start: home\n", 'start: home\ncodes: ["*152*01#"]\n'),
        "-",
        "codes:",
        r"short code \*152\*01# is claimed by 'base' and by 'other' \(.*other\.yaml:4\)",
        before=(OTHER,),
    ),
    Case(
        "duplicate-keyword",
        "two services declare one SMS keyword",
        replace(
            BASE, "start: home\n", "start: home\nkeywords:\n  - word: {sw: HABARI, en: NEWS}\n"
        ),
        "keywords",
        "- word: {sw: HABARI",
        r"SMS keyword HABARI is declared by 'base' and by 'other' \(.*other\.yaml:8\)",
        before=(OTHER,),
    ),
    Case(
        "owner",
        "a service that names no owner",
        replace(BASE, "owner: {institution: Taasisi, contact: huduma@taasisi.go.tz}\n", ""),
        "-",
        "service: base",
        r"'owner' must give institution and contact \(who answers for this service\)",
    ),
    Case(
        "owner",
        "a service that names no backend",
        replace(BASE, "backend: feedback\n", ""),
        "-",
        "owner: {institution",
        r"'backend' must name where this service's submissions go \(config backends:\)",
    ),
    Case(
        "undefined-variable",
        "a misspelt variable",
        replace(BASE, 'en: "Send {{ body }}?"', 'en: "Send {{ bodyy }}?"'),
        "confirm",
        'en: "Send {{ bodyy }}?"',
        r"uses variable 'bodyy' that no earlier screen sets",
    ),
    Case(
        "undefined-variable",
        "a variable set only after the screen",
        replace(BASE, '{sw: "Ujumbe", en: "Message"}', '{sw: "Ujumbe", en: "Message {{ body }}"}'),
        "body",
        'en: "Message {{ body }}"',
        r"uses variable 'body' that no earlier screen sets",
    ),
    Case(
        "no-validation",
        "an input that accepts anything",
        replace(BASE, "    validate: {max_length: 40}\n", ""),
        "body",
        "type: input",
        r"input has no validation: anything typed is accepted",
    ),
    Case(
        "sms-too-long",
        "a receipt quoting the message five times, with a tick that needs UCS-2",
        BASE
        + '    sms: {sw: "{{ reference }}'
        + " \u2713 {{ body }}" * 5
        + '", en: "Ref {{ reference }}"}\n',
        "done",
        "type: end",
        r"sw: the sms text can take 4 SMS parts \(ucs2\), over sms.max_segments \(3\); "
        r"it would be cut",
    ),
]

PASSING = {
    "yaml": BASE,
    "schema": replace(
        BASE, "    save_as: body\n", "    save_as: body\n    hint: {sw: Fupi, en: Short}\n"
    ),
    "duplicate-key": BASE,
    "unknown-screen": BASE,
    "unreachable": replace(
        BASE,
        '      - {label: {sw: "Andika", en: "Write"}, next: body}\n',
        (
            '      - {label: {sw: "Andika", en: "Write"}, next: body}\n'
            '      - {label: {sw: "Kwaheri", en: "Bye"}, next: bye}\n'
        ),
    )
    + "  bye:\n    type: end\n    text: {sw: Kwaheri, en: Bye}\n",
    "dead-end": BASE,
    "missing-language": BASE,
    "too-long": replace(BASE, " (na jina)", " " + "J" * 40),
    "duplicate-code": replace(BASE, "start: home\n", 'start: home\ncodes: ["*152*02#"]\n'),
    "duplicate-keyword": replace(
        BASE, "start: home\n", "start: home\nkeywords:\n  - word: {sw: HABARINI, en: NEWS}\n"
    ),
    "owner": BASE,
    "undefined-variable": BASE,
    "no-validation": BASE,
    "sms-too-long": BASE
    + '    sms: {sw: "Asante: {{ reference }} {{ body }}", en: "Ref {{ reference }}"}\n',
}
"""A clean menu close to each failing example: the rule must not fire on it."""


def validate(
    tmp_path: Path, text: str, before: tuple[str, ...] = (), **kwargs: object
) -> tuple[Path, list[Problem]]:
    paths = []
    for n, other in enumerate(before):
        path = tmp_path / ("other.yaml" if n == 0 else f"other{n}.yaml")
        path.write_text(dedent(other), encoding="utf-8")
        paths.append(path)
    path = tmp_path / "menu.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    _, problems = inspect_menus([*paths, path], **kwargs)  # type: ignore[arg-type]
    return path, problems


def test_every_rule_has_a_failing_and_a_passing_example() -> None:
    assert {case.rule for case in FAILING} == set(RULES)
    assert set(PASSING) == set(RULES)


@pytest.mark.parametrize("case", FAILING, ids=lambda c: f"{c.rule}: {c.name}")
def test_rule_blames_the_exact_line(tmp_path: Path, case: Case) -> None:
    path, problems = validate(tmp_path, case.text, case.before, catalogues=case.catalogues)
    line = line_of(case.text, case.needle)
    severity = RULES[case.rule].severity
    found = [
        p
        for p in problems
        if p.file == str(path) and p.screen == case.screen and re.fullmatch(case.message, p.message)
    ]
    assert found, f"{path}:{line}: {case.screen}: {case.message}\nnot in\n" + "\n".join(
        map(str, problems)
    )
    assert (found[0].line, found[0].severity) == (line, severity), str(found[0])
    prefix = "" if severity == "error" else "warning: "
    assert str(found[0]) == f"{path}:{line}: {case.screen}: {prefix}{found[0].message}"
    if severity == "error":  # the server refuses the same files
        with pytest.raises(DefinitionError):
            load_menus([*sorted(tmp_path.glob("other*.yaml")), path], catalogues=case.catalogues)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_passes_a_correct_menu(tmp_path: Path, rule: str) -> None:
    before = (OTHER,) if rule in {"duplicate-code", "duplicate-keyword"} else ()
    _, problems = validate(tmp_path, PASSING[rule], before)
    assert problems == []


def test_a_short_code_in_the_configuration_and_a_menu_file_clash_at_start(tmp_path: Path) -> None:
    _, problems = validate(tmp_path, BASE, (OTHER,))
    assert problems == []
    definitions = load_menus([tmp_path / "other.yaml", tmp_path / "menu.yaml"])
    config = tmp_path / "gateway.yaml"
    config.write_text('service_codes:\n  "*152*00#": base\n  "*152*01#": base\n')
    clashes = check_codes(definitions, {"*152*00#": "base", "*152*01#": "base"}, config)
    assert [str(p) for p in clashes] == [
        f"{config}:3: -: short code *152*01# is claimed by 'base' and by 'other' "
        f"({tmp_path / 'other.yaml'}:4)"
    ]
    with pytest.raises(DefinitionError) as raised:
        ServiceRouter({"*152*01#": "base"}, definitions)
    assert "short code *152*01# is claimed by 'base' and by 'other'" in str(raised.value)
    # the same service named twice is not a clash
    ServiceRouter({"*152*01#": "other"}, definitions)


def test_a_short_code_listed_twice_in_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text('service_codes:\n  "*152*00#": base\n  "*152*00#": other\n')
    [problem] = check_codes({}, {"*152*00#": "other"}, config)
    assert str(problem) == f"{config}:3: -: short code *152*00# is listed twice"


def test_builtin_and_earlier_variables_are_known(tmp_path: Path) -> None:
    """``language`` is built in, ``reference`` comes from the submit screen, ``anonymous`` from
    an option's ``set``: none is reported (BASE uses all three)."""
    _, problems = validate(tmp_path, BASE)
    assert problems == []
