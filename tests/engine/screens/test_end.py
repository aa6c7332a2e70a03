"""``end`` screens: the last words of a journey; the session is complete after them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import build, drive, parse
from ussd_gateway.domain.session import SessionStatus

END = """
service: bye
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Karibu", en: "Welcome"}
    options:
      - {label: {sw: "Maliza", en: "Finish"}, set: {who: Asha}, next: done}
  done:
    type: end
    text: {sw: "Kwaheri {{ who }}", en: "Goodbye {{ who }}"}
    sms: {sw: "Asante {{ who }}", en: "Thank you {{ who }}"}
"""


@pytest.fixture
def menu(tmp_path: Path):
    return build(tmp_path, END)


async def test_end_screen_completes_the_session(menu) -> None:
    journey = await drive(menu, ["1"])
    assert journey.text == "Kwaheri Asha"
    assert journey.last.reply.end is True
    assert journey.session.status is SessionStatus.COMPLETED
    assert journey.session.screen == "done"


async def test_end_screen_has_no_footer_and_no_hint(menu) -> None:
    journey = await drive(menu, ["1"], language="en")
    assert journey.text == "Goodbye Asha"
    assert "0." not in journey.text


async def test_other_screens_leave_the_session_active(menu) -> None:
    journey = await drive(menu)
    assert journey.session.status is SessionStatus.ACTIVE
    assert journey.last.reply.end is False


async def test_an_entry_after_the_end_starts_over(menu) -> None:
    ended = await drive(menu, ["1"])
    again = await drive(menu, ["1"], session=ended.session)
    assert again.session.screen == "home"
    assert again.session.history == []
    assert again.text == "Karibu\n1. Maliza"


async def test_end_as_start_screen_ends_at_once(tmp_path: Path) -> None:
    definition = build(
        tmp_path,
        """
        service: closed
        languages: [sw]
        start: closed
        screens:
          closed: {type: end, text: "Huduma imefungwa"}
        """,
    )
    journey = await drive(definition)
    assert journey.text == "Huduma imefungwa"
    assert journey.last.reply.end
    assert journey.session.status is SessionStatus.COMPLETED


def test_sms_receipt_is_parsed_per_language(menu) -> None:
    screen = menu.screens["done"]
    assert screen.sms is not None
    assert screen.sms.render("sw", {"who": "Juma"}) == "Asante Juma"
    assert screen.sms.render("en", {"who": "Juma"}) == "Thank you Juma"


def test_end_screen_needs_no_way_forward_but_needs_text() -> None:
    _, problems = parse(
        END.replace('    text: {sw: "Kwaheri {{ who }}", en: "Goodbye {{ who }}"}\n', "")
    )
    assert [(p.screen, p.message) for p in problems] == [("done", "missing 'text'")]


def test_end_screen_rejects_keys_of_other_screens() -> None:
    _, problems = parse(END.replace("    type: end\n", "    type: end\n    next: home\n"))
    [problem] = problems
    assert problem.screen == "done"
    assert problem.message.startswith("unknown key 'next'")


async def test_an_end_screen_may_count_as_a_cancellation(tmp_path: Path) -> None:
    cancelling = END.replace("    type: end\n", "    type: end\n    outcome: cancelled\n")
    menu = build(tmp_path, cancelling)
    journey = await drive(menu, ["1"])
    assert journey.session.status is SessionStatus.COMPLETED  # the session is over either way
    assert journey.session.end_reason == "cancelled"
    (tmp_path / "plain").mkdir()
    completed = await drive(build(tmp_path / "plain", END), ["1"])
    assert completed.session.end_reason == ""


def test_outcome_must_be_completed_or_cancelled() -> None:
    _, problems = parse(END.replace("    type: end\n", "    type: end\n    outcome: maybe\n"))
    assert [(p.screen, p.message, p.line) for p in problems] == [
        ("done", "'outcome' must be one of completed, cancelled", 12)
    ]
