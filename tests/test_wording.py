"""The shipped texts speak one Swahili: the glossary in docs/menus.md is the rule, read from the
doc itself, so a careful reader finds the same word for the same thing on every screen and SMS.

Texts are gathered from every place a citizen's text is shipped: the menu files, the
institutions catalogue, config/gateway.yaml, and the built-in SMS, gateway and hint texts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ussd_gateway.application.menus.loading import load_definitions
from ussd_gateway.config import settings as gateway_texts
from ussd_gateway.config import sms as sms_texts
from ussd_gateway.config.settings import load_settings
from ussd_gateway.engine import messages
from ussd_gateway.engine.screens.list import ListScreen
from ussd_gateway.engine.screens.lookup import LookupScreen

ROOT = Path(__file__).resolve().parents[1]
YAML_FILES = [
    *sorted((ROOT / "menus").glob("*.yaml")),
    ROOT / "config" / "institutions.yaml",
    ROOT / "config" / "gateway.yaml",
]


def _walk(node: Any, language: str, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == language and isinstance(value, str):
                yield where, value
            else:
                yield from _walk(value, language, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, language, f"{where}[{index}]")


def texts(language: str) -> list[tuple[str, str]]:
    """``(where, text)`` of every shipped text in ``language``."""
    found: list[tuple[str, str]] = []
    for path in YAML_FILES:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        found += _walk(raw, language, path.relative_to(ROOT).as_posix())
    for name, table in (
        ("sms.DEFAULT_TEXTS", sms_texts.DEFAULT_TEXTS),
        ("settings.DEFAULT_TEXTS", gateway_texts.DEFAULT_TEXTS),
        ("messages.DEFAULT_MESSAGES", messages.DEFAULT_MESSAGES),
    ):
        found += [(f"{name}[{key}]", by[language]) for key, by in table.items() if language in by]
    return found


def glossary() -> list[tuple[str, list[str]]]:
    """``(term, words not to use instead)`` from docs/menus.md's glossary table."""
    doc = (ROOT / "docs" / "menus.md").read_text(encoding="utf-8")
    table = doc.split("| Swahili | English | used for | not |\n", 1)[1].split("\n\n", 1)[0]
    rows = [row.strip("|").split("|") for row in table.splitlines()[1:]]
    return [(cells[0].strip(), re.findall(r"`([^`]+)`", cells[3])) for cells in rows]


SWAHILI = texts("sw")
ENGLISH = texts("en")
AVOIDED = [(term, word) for term, words in glossary() for word in words]


def _word(word: str) -> re.Pattern[str]:
    """``word`` on its own, case as written (``Sajili`` is not ``Jisajili`` nor ``SAJILI``)."""
    end = r"(?!\w)" if word[-1].isalnum() else ""
    return re.compile(r"(?<!\w)" + re.escape(word) + end)


def test_the_glossary_covers_the_agreed_terms() -> None:
    terms = [term for term, _ in glossary()]
    assert terms == [
        "mrejesho",
        "namba ya kumbukumbu",
        "namba ya simu",
        "Jisajili",
        "Tuma",
        "Ghairi",
        "bila jina",
        "Serikali Mtandao",
        "taarifa",
    ]
    assert len(SWAHILI) > 150 and len(ENGLISH) > 150  # every file was read


@pytest.mark.parametrize("term", [term for term, _ in glossary()])
def test_every_glossary_term_is_what_the_texts_say(term: str) -> None:
    assert any(term.casefold() in text.casefold() for _, text in SWAHILI), term


@pytest.mark.parametrize(("term", "word"), AVOIDED)
def test_no_swahili_text_uses_another_word_for_a_glossary_term(term: str, word: str) -> None:
    pattern = _word(word)
    offending = [f"{where}: {text!r}" for where, text in SWAHILI if pattern.search(text)]
    assert not offending, f"say {term!r}, not {word!r}:\n" + "\n".join(offending)


def test_examples_are_written_out_and_the_event_has_one_name() -> None:
    abbreviated = [(w, t) for w, t in SWAHILI if re.search(r"(?<!\w)mf\.", t)]
    assert not abbreviated, abbreviated
    # English may say "e-Government", never the clipped "e-Gov"
    clipped = [(w, t) for w, t in SWAHILI + ENGLISH if re.search(r"e-Gov(?!ernment)", t)]
    assert not clipped, clipped


def test_no_text_a_citizen_reads_has_angle_brackets() -> None:
    """``HALI <kumbukumbu>`` reads as something to type literally, brackets included."""
    bracketed = [(w, t) for w, t in SWAHILI + ENGLISH if re.search(r"<[^>]+>", t)]
    assert not bracketed, bracketed


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def test_different_statuses_do_not_look_alike() -> None:
    """ "Inashughulikiwa" and "Imeshughulikiwa" (in progress, resolved) differ by a letter or
    two: a citizen glancing at a small screen takes one for the other."""
    definitions = load_definitions(load_settings(ROOT / "config" / "gateway.yaml"))
    lookups = [
        (name, screen)
        for name, definition in definitions.items()
        for screen in definition.screens.values()
        if isinstance(screen, LookupScreen)
    ]
    assert lookups
    for name, screen in lookups:
        for language in ("sw", "en"):
            labels = {status: text.render(language, {}) for status, text in screen.statuses.items()}
            close = [
                (a, b)
                for a in labels
                for b in labels
                if a < b
                and labels[a] != labels[b]
                and _distance(labels[a].casefold(), labels[b].casefold()) <= 3
            ]
            assert not close, (name, language, [(labels[a], labels[b]) for a, b in close])


def test_institutions_are_in_an_order_a_citizen_can_search() -> None:
    """The first page holds the services nearly everyone uses; after it, alphabetical by the
    Swahili label, so paging on tells a citizen whether the one sought is still ahead."""
    definitions = load_definitions(load_settings(ROOT / "config" / "gateway.yaml"))
    screen = definitions["mrejesho"].screens["institution"]
    assert isinstance(screen, ListScreen)
    labels = [item.label_in("sw", "sw") for item in screen.items]
    assert len(labels) == 59
    first_page = screen.pages_by_language["sw"][0]
    assert labels[: len(first_page)] == [
        "TANESCO - Umeme",
        "TRA - Mapato",
        "NIDA - Vitambulisho",
        "DAWASA - Maji Dar es Salaam",
        "Wizara ya Afya",
    ]
    rest = labels[len(first_page) :]
    assert rest == sorted(rest, key=str.casefold)
    assert len(set(labels)) == len(labels)
    assert all(len(label) <= 28 for label in labels)
