"""Pull SMS keywords: the shipped services' declarations and the resolver's matching rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import project_settings
from tests.engine.helpers import parse
from ussd_gateway.app import load_definitions
from ussd_gateway.pull_keywords import KeywordResolver, PullRequest, resolve

MENU = """
service: {name}
languages: [sw, en]
start: home
keywords:
{keywords}
screens:
  home: {{type: end, text: {{sw: Habari, en: Hello}}}}
"""


@pytest.fixture(scope="module")
def shipped() -> KeywordResolver:
    return KeywordResolver(load_definitions(project_settings()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MREJESHO HALI MREJ234Q", ("mrejesho", "MREJESHO", "status", "MREJ234Q")),
        ("  mrejesho   hali\tmrej234q  ", ("mrejesho", "MREJESHO", "status", "mrej234q")),
        ("Feedback Status MREJ234Q", ("mrejesho", "FEEDBACK", "status", "MREJ234Q")),
        ("MREJESHO Umeme umekatika", ("mrejesho", "MREJESHO", "give", "Umeme umekatika")),
        ("MREJESHO TOA Maji  hayatoki", ("mrejesho", "MREJESHO", "give", "Maji hayatoki")),
        ("kikao sajili", ("egov_meeting", "KIKAO", "register", "")),
        ("MEETING STATUS +255712000042", ("egov_meeting", "MEETING", "status", "+255712000042")),
    ],
)
def test_shipped_keywords_route_to_their_service(
    shipped: KeywordResolver, text: str, expected: tuple[str, str, str, str]
) -> None:
    assert shipped.resolve(text) == PullRequest(*expected)


@pytest.mark.parametrize("text", ["", "   ", "HABARI MREJESHO", "MREJESHOHALI X", "152"])
def test_texts_without_a_known_keyword_are_not_understood(
    shipped: KeywordResolver, text: str
) -> None:
    assert shipped.resolve(text) is None


def test_every_shipped_keyword_has_one_owner(shipped: KeywordResolver) -> None:
    assert shipped.keywords == {
        "MREJESHO": "mrejesho",
        "FEEDBACK": "mrejesho",
        "KIKAO": "egov_meeting",
        "MEETING": "egov_meeting",
    }


def test_no_default_leaves_the_action_empty(tmp_path: Path) -> None:
    definition, problems = parse(
        MENU.format(name="s", keywords="  - {word: HUDUMA, subs: {status: [HALI]}}")
    )
    assert definition is not None and problems == []
    assert resolve({"s": definition}, "huduma hali 12") == PullRequest(
        "s", "HUDUMA", "status", "12"
    )
    assert resolve({"s": definition}, "huduma 12") == PullRequest("s", "HUDUMA", "", "12")


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ("  - {word: 'A B'}", "'word' must be letters or digits (2-20), per language"),
        ("  - {subs: {x: [Y]}}", "each keyword needs 'word' (per language) and may have 'subs'"),
        ("  - {word: OK, colour: red}", "unknown key 'colour' in a keyword"),
        ("  - {word: OK, default: nope}", "'default' must name one of the subs, not 'nope'"),
        (
            "  - {word: OK, subs: {a: [XX], b: [XX]}}",
            "sub-keyword XX means both 'a' and 'b'",
        ),
        ("  - {word: OK}\n  - {word: [ok]}", "keyword OK is declared twice in this file"),
    ],
)
def test_keyword_grammar_problems(keywords: str, message: str) -> None:
    _, problems = parse(MENU.format(name="s", keywords=keywords))
    assert [p.message for p in problems if p.screen == "keywords"] == [message]
