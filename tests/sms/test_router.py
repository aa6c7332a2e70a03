"""The one keyword table: the gateway's configured routes plus the ``<KEYWORD> <SUB-KEYWORD>``
routes the shipped services declare in their menu files, longest match first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import project_settings, shipped_settings
from tests.engine.helpers import parse
from ussd_gateway.application.menus.loading import load_definitions, load_services
from ussd_gateway.application.menus.reloading import load_registry
from ussd_gateway.application.sms.router import KeywordRouter
from ussd_gateway.application.sms.service_routes import build_keyword_router
from ussd_gateway.config.settings import ConfigError
from ussd_gateway.config.sms import KeywordRoute
from ussd_gateway.engine.definition import DefinitionError
from ussd_gateway.http.sms.hook import live_keywords

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
def router() -> KeywordRouter:
    settings = shipped_settings()  # *152*00# is the directory
    return build_keyword_router(
        settings.sms.keywords, load_definitions(settings), codes=settings.service_codes
    )


def test_gateway_routes_in_both_languages(router: KeywordRouter) -> None:
    for text, action, language, argument in (
        ("Hali: ABCD2345", "status", "sw", "ABCD2345"),
        ("STATUS abcd2345", "status", "en", "abcd2345"),
        ("acha", "stop", "sw", ""),
        ("STOP.", "stop", "en", ""),
        ("ANZA", "start", "sw", ""),
        ("start", "start", "en", ""),
        ("msaada", "help", "sw", ""),
    ):
        match = router.match(text)
        assert match is not None, text
        assert (match.route.action, match.route.language, match.argument) == (
            action,
            language,
            argument,
        )
        assert "service" not in match.route.params  # gateway-wide: every service
    assert router.match("Habari") is None and router.match("") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MREJESHO HALI MREJ234Q", ("mrejesho", "status", "sw", "MREJ234Q")),
        ("  mrejesho   hali\tmrej234q  ", ("mrejesho", "status", "sw", "mrej234q")),
        ("Feedback Status MREJ234Q", ("mrejesho", "status", "en", "MREJ234Q")),
        ("MREJESHO Umeme umekatika", ("mrejesho", "feedback", "sw", "Umeme umekatika")),
        ("MREJESHO TOA Maji  hayatoki", ("mrejesho", "feedback", "sw", "Maji  hayatoki")),
        ("FEEDBACK GIVE no water", ("mrejesho", "feedback", "en", "no water")),
        ("MREJESHO halisi mbaya", ("mrejesho", "feedback", "sw", "halisi mbaya")),
        ("kikao sajili", ("egov_meeting", "register", "sw", "")),
        ("KIKAO", ("egov_meeting", "status", "sw", "")),
        ("MEETING STATUS", ("egov_meeting", "status", "en", "")),
    ],
)
def test_service_keywords_route_to_their_service(
    router: KeywordRouter, text: str, expected: tuple[str, str, str, str]
) -> None:
    match = router.match(text)
    assert match is not None
    route = match.route
    assert (route.params["service"], route.action, route.language, match.argument) == expected


def test_a_service_route_knows_how_its_service_is_dialled(router: KeywordRouter) -> None:
    kikao = router.match("KIKAO SAJILI")
    assert kikao is not None and kikao.route.params["code"] == "*152*00*2#"
    assert "menus/egov_meeting.yaml" in kikao.route.source


def test_every_service_keyword_has_one_owner(router: KeywordRouter) -> None:
    owners = {r.words[0]: r.params["service"] for r in router.routes if "service" in r.params}
    assert owners == {
        "MREJESHO": "mrejesho",
        "FEEDBACK": "mrejesho",
        "KIKAO": "egov_meeting",
        "MEETING": "egov_meeting",
    }


def test_no_default_answers_the_services_help() -> None:
    definition, problems = parse(
        MENU.format(name="s", keywords="  - {word: HUDUMA, subs: {status: [HALI]}}")
    )
    assert definition is not None and problems == []
    router = build_keyword_router((), {"s": definition})
    hali = router.match("huduma hali 12")
    assert hali is not None and (hali.route.action, hali.argument) == ("status", "12")
    alone = router.match("huduma 12")
    assert alone is not None and alone.route.action == "service_help"


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ("  - {word: 'A B'}", "'word' must be letters or digits (2-20), per language"),
        ("  - {subs: {x: [Y]}}", "each keyword needs 'word' (per language) and may have 'subs'"),
        ("  - {word: OK, colour: red}", "unknown key 'colour' in a keyword"),
        ("  - {word: OK, default: nope}", "'default' must name one of the subs, not 'nope'"),
        (
            "  - {word: OK, subs: {give: [XX], status: [XX]}}",
            "sub-keyword XX means both 'give' and 'status'",
        ),
        ("  - {word: OK}\n  - {word: [ok]}", "keyword OK is declared twice in this file"),
        (
            "  - {word: OK, subs: {subscribe: [JIUNGE]}}",
            "sub-keyword action 'subscribe' is not one of give, help, register, status",
        ),
    ],
)
def test_keyword_grammar_problems(keywords: str, message: str) -> None:
    _, problems = parse(MENU.format(name="s", keywords=keywords))
    assert [p.message for p in problems if p.screen == "keywords"] == [message]


def test_a_keyword_with_an_unknown_action_stops_start_up() -> None:
    sms = {"keywords": [{"words": "MAJI", "language": "sw", "action": "x"}]}
    settings = project_settings(sections={"sms": sms})
    with pytest.raises(ConfigError, match="MAJI: unknown action 'x'"):
        live_keywords(settings.sms, load_registry(settings), settings)


def test_a_config_route_on_a_service_keyword_is_refused_naming_both(tmp_path: Path) -> None:
    sms = {
        "keywords": [
            {"words": "HALI", "language": "sw", "action": "status"},
            {"words": "FEEDBACK", "language": "en", "action": "feedback"},
        ]
    }
    with pytest.raises(DefinitionError) as error:
        load_services(project_settings(sections={"sms": sms}))
    (problem,) = error.value.problems
    assert problem.file.endswith("menus/mrejesho.yaml") and problem.line == 8
    assert "SMS keyword FEEDBACK of service 'mrejesho' is also declared in" in problem.message
    assert "(sms.keywords[1])" in problem.message


def test_two_config_routes_with_one_keyword_name_both_entries() -> None:
    router = KeywordRouter([KeywordRoute(("HALI",), "sw", "status", source="sms.keywords[0]")])
    with pytest.raises(ValueError, match=r"declared twice \(sms.keywords\[0\] and x.yaml\)"):
        router.add(KeywordRoute(("hali",), "sw", "help", source="x.yaml"))
