"""Menu texts: sandboxed templates that can format the citizen's entries and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.engine.helpers import build, drive
from ussd_gateway.domain.templates import TEMPLATES, is_template
from ussd_gateway.engine.text import LocalizedText, Template

VARIABLES = {"name": "Asha", "body": "Maji hayatoki tangu jana asubuhi", "items": ["a", "b"]}

SANDBOX_ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ name.__class__.__base__.__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ name.__init__.__globals__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ name|attr('__class__')|attr('__mro__') }}",
    "{{ '%s'|format(name.__class__) }}",
    "{{ '{0.__class__}'.format(name) }}",
    "{{ '{0.__class__.__mro__}'.format(name) }}",
    "{% set c = name.__class__ %}{{ c }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ config }}",
    "{{ request }}",
    "{{ name.mro }}",
]


@pytest.mark.parametrize("source", SANDBOX_ESCAPES)
def test_sandbox_does_not_leak_python_internals(source: str) -> None:
    rendered = Template.compile(source).render(VARIABLES)
    for leak in ["<class", "<module", "<function", "<built-in", "<bound", "__builtins__"]:
        assert leak not in rendered
    assert "object" not in rendered.replace(source, "")
    # either nothing, or the author's text as written (a caught SecurityError/UndefinedError)
    assert rendered in ("", source)


async def test_sandbox_escape_in_a_menu_text_shows_no_internals(tmp_path: Path) -> None:
    definition = build(
        tmp_path,
        """
        service: evil
        languages: [sw]
        start: home
        screens:
          home:
            type: menu
            text: "Habari {{ ''.__class__.__mro__[1].__subclasses__() }}"
            options:
              - {label: "{{ language.__class__ }}", set: {name: Amina}, next: done}
          done: {type: end, text: "{{ name.__init__.__globals__ }}"}
        """,
    )
    journey = await drive(definition, ["1"])
    assert journey.screens == ["home", "done"]
    for text in journey.texts:
        for leak in ["<class", "<built-in", "<function", "__builtins__"]:
            assert leak not in text
    assert journey.texts[0].splitlines()[1] == "1. "


@pytest.mark.parametrize("name", ["range", "lipsum", "cycler", "joiner", "namespace", "dict"])
def test_no_globals(name: str) -> None:
    assert name not in TEMPLATES.globals
    rendered = Template.compile(f"{{{{ {name} }}}}").render({})
    assert rendered == ""


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("{{ range(3)|list }}", "[0, 1, 2]"),
        ("{% for i in range(3) %}{{ i }}{% endfor %}", "012"),
        ("{{ lipsum(1) }}", "Lorem"),
        ("{{ cycler('a', 'b').next() }}", "a"),
        ("{{ dict(a=1) }}", "{'a': 1}"),
        ("{% set ns = namespace(a=1) %}{{ ns.a }}", "1"),
    ],
)
def test_global_functions_cannot_be_called(source: str, forbidden: str) -> None:
    rendered = Template.compile(source).render({})
    assert rendered == source or forbidden not in rendered


def test_globals_are_empty() -> None:
    assert dict(TEMPLATES.globals) == {}
    assert TEMPLATES.loader is None


@pytest.mark.parametrize(
    "source",
    [
        "{{ os.environ.USSD_TEST_SECRET }}",
        "{{ environ.USSD_TEST_SECRET }}",
        "{{ env.USSD_TEST_SECRET }}",
        "{{ self._TemplateReference__context.environ }}",
        "{{ lipsum.__globals__.os.environ.USSD_TEST_SECRET }}",
        "{{ cycler.__init__.__globals__.os.environ.USSD_TEST_SECRET }}",
        "{{ name.__class__.__mro__[1].__subclasses__() }}",
    ],
)
def test_templates_cannot_read_the_environment(
    monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    monkeypatch.setenv("USSD_TEST_SECRET", "s3cr3t-value")
    rendered = Template.compile(source).render(VARIABLES)
    assert "s3cr3t-value" not in rendered
    assert os.environ.get("PATH", "/nowhere") not in rendered


def test_templates_cannot_change_the_values_they_are_given() -> None:
    items = ["a", "b"]
    found = {"status": "pending"}
    for source in ["{{ items.append('c') }}", "{{ items.pop() }}", "{{ found.update(status=1) }}"]:
        Template.compile(source).render({"items": items, "found": found})
    assert items == ["a", "b"]
    assert found == {"status": "pending"}


# ---- ordinary use ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source", ["Karibu", "Asilimia 50% {jina}", "Namba {# si maoni #}", "a } b { c", ""]
)
def test_plain_text_skips_jinja(source: str) -> None:
    assert not is_template(source)
    template = Template.compile(source)
    assert template.compiled is None
    assert template.render({"jina": "Asha"}) == source


@pytest.mark.parametrize("source", ["{{ x }}", "a {% if x %}b{% endif %}"])
def test_text_with_jinja_markers_is_compiled(source: str) -> None:
    assert is_template(source)
    assert Template.compile(source).compiled is not None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Habari {{ name }}", "Habari Asha"),
        ("Habari {{ missing }}!", "Habari !"),
        ("  {{ name }}  \n", "Asha"),
        ("{{ name | upper }}", "ASHA"),
        ("{{ body | truncate(20) }}", "Maji hayatoki..."),
        ("{{ missing | default('-') }}", "-"),
        ("{% if name %}Jina: {{ name }}{% else %}Bila jina{% endif %}", "Jina: Asha"),
        ("{{ items | join(', ') }}", "a, b"),
        ("{{ items | length }}", "2"),
        ("{{ name ~ '!' }}", "Asha!"),
    ],
)
def test_templates_format_variables(source: str, expected: str) -> None:
    assert Template.compile(source).render(VARIABLES) == expected


def test_undefined_variable_used_as_a_value_falls_back_to_the_source() -> None:
    source = "{{ missing.deeper }}"
    assert Template.compile(source).render({}) == source


def test_localized_text_falls_back_to_the_default_language() -> None:
    text = LocalizedText.compile({"sw": "Habari {{ name }}", "en": "Hello {{ name }}"}, "sw")
    assert text.render("en", {"name": "Asha"}) == "Hello Asha"
    assert text.render("fr", {"name": "Asha"}) == "Habari Asha"
    assert text.languages == frozenset({"sw", "en"})
    assert text.sources() == {"sw": "Habari {{ name }}", "en": "Hello {{ name }}"}
    plain = LocalizedText.plain("Karibu", "sw")
    assert plain.render("en", {}) == "Karibu"


# ---- bugs found and fixed ----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["{{ name.upper }}", "{{ body.format }}", "{{ self }}"])
def test_callables_and_internal_objects_are_not_printed(source: str) -> None:
    rendered = Template.compile(source).render(VARIABLES)
    assert "<" not in rendered and "0x" not in rendered, rendered


@pytest.mark.parametrize(
    "source",
    [
        "{{ 10 / count }}",
        "{{ name + 1 }}",
        "{% include 'x.txt' %}",
        "{% import 'os' as os %}{{ os }}",
        "{% extends 'base.txt' %}",
    ],
)
def test_template_failing_at_render_time_falls_back_to_its_source(source: str) -> None:
    assert Template.compile(source).render({"name": "Asha", "count": 0}) == source
