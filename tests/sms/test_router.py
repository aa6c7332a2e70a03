"""The keyword table: configured routes, longest match, and routes added by other sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import project_settings
from ussd_gateway.settings import ConfigError
from ussd_gateway.sms.config import KeywordRoute, load_sms
from ussd_gateway.sms.hook import build_router


@pytest.fixture
def router():  # type: ignore[no-untyped-def]
    return build_router(load_sms(project_settings()))


def test_configured_keywords_in_both_languages(router) -> None:  # type: ignore[no-untyped-def]
    for text, action, language, argument in (
        ("MREJESHO Maji hayatoki", "feedback", "sw", "Maji hayatoki"),
        ("feedback  no water ", "feedback", "en", "no water"),
        ("Hali: ABCD2345", "status", "sw", "ABCD2345"),
        ("STATUS abcd2345", "status", "en", "abcd2345"),
        ("acha", "stop", "sw", ""),
        ("STOP.", "stop", "en", ""),
        ("ANZA", "start", "sw", ""),
        ("start", "start", "en", ""),
    ):
        match = router.match(text)
        assert match is not None, text
        assert (match.route.action, match.route.language, match.argument) == (
            action,
            language,
            argument,
        )
    assert router.match("Habari") is None and router.match("") is None


def test_another_source_adds_a_two_word_route_and_the_longest_wins(router) -> None:  # type: ignore[no-untyped-def]
    router.add(KeywordRoute(("MREJESHO", "HALI"), "sw", "status", {"service": "mrejesho"}))
    match = router.match("mrejesho hali ABCD2345")
    assert match is not None and (match.route.action, match.argument) == ("status", "ABCD2345")
    one_word = router.match("MREJESHO halisi mbaya")  # not the two-word route
    assert one_word is not None and one_word.route.action == "feedback"
    with pytest.raises(ValueError, match="declared twice"):
        router.add(KeywordRoute(("mrejesho",), "sw", "help"))


def test_a_keyword_with_an_unknown_action_stops_start_up(tmp_path: Path) -> None:
    settings = project_settings()
    raw = {
        **settings.raw,
        "sms": {"keywords": [{"words": "MAJI", "language": "sw", "action": "x"}]},
    }
    with pytest.raises(ConfigError, match="MAJI: unknown action 'x'"):
        build_router(load_sms(project_settings(raw=raw)))
