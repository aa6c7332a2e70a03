"""The hop runner: navigation keys, history, automatic screens and their failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import (
    FOOTER_SW,
    BrokenPorts,
    MemoryPorts,
    build,
    drive,
    mrejesho,
    new_session,
)
from ussd_gateway.config.settings import NavigationKeys
from ussd_gateway.domain.gsm import fits_ussd
from ussd_gateway.domain.session import SessionStatus
from ussd_gateway.engine.runner import MAX_AUTOMATIC_STEPS, Engine, compose

FLOW = """
service: flow
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Mwanzo", en: "Start"}
    options:
      - {label: {sw: "A", en: "A"}, set: {path: a}, next: a}
      - {label: {sw: "Tuma", en: "Send"}, next: body}
  a:
    type: menu
    text: {sw: "Skrini A", en: "Screen A"}
    options:
      - {label: {sw: "B", en: "B"}, next: check}
  check:
    type: router
    routes:
      - {when: "path == 'a'", next: b}
    default: home
  b:
    type: input
    text: {sw: "Skrini B", en: "Screen B"}
    validate: {max_length: 10}
    save_as: b
    next: c
  c:
    type: menu
    text: {sw: "Skrini C {{ b }}", en: "Screen C {{ b }}"}
    options:
      - {label: {sw: "Mwisho", en: "End"}, next: bye}
  body:
    type: input
    text: {sw: "Ujumbe", en: "Message"}
    validate: {max_length: 20}
    save_as: body
    next: send
  send:
    type: submit
    backend: x
    next: sent
  sent:
    type: end
    text: "{{ reference }}"
  bye:
    type: end
    text: {sw: "Kwaheri", en: "Bye"}
"""


@pytest.fixture
def menu(tmp_path: Path):
    return build(tmp_path, FLOW)


# ---- back, home, history ----------------------------------------------------------------


async def test_history_holds_the_interactive_screens_walked(menu) -> None:
    journey = await drive(menu, ["1", "1", "hello"])
    assert journey.screens == ["home", "a", "b", "c"]
    assert [r.session.history for r in journey.results] == [
        [],
        ["home"],
        ["home", "a"],
        ["home", "a", "b"],
    ]  # the router between a and b is never in history


async def test_back_returns_screen_by_screen(menu) -> None:
    journey = await drive(menu, ["1", "1", "hello", "0", "0", "0"])
    assert journey.screens == ["home", "a", "b", "c", "b", "a", "home"]
    assert journey.texts[4] == journey.texts[2]
    assert journey.texts[5] == journey.texts[1]
    assert journey.text == journey.texts[0] == "Mwanzo\n1. A\n2. Tuma"
    assert journey.session.history == []


async def test_back_keeps_what_was_typed(menu) -> None:
    journey = await drive(menu, ["1", "1", "hello", "0"])
    assert journey.session.vars == {"path": "a", "b": "hello"}


async def test_back_on_the_start_screen_is_a_wrong_choice(menu) -> None:
    journey = await drive(menu, ["0"])
    assert journey.session.screen == "home"
    assert journey.text == "Chaguo si sahihi. Chagua 1-2.\nMwanzo\n1. A\n2. Tuma"


async def test_home_goes_to_the_start_and_forgets_history(menu) -> None:
    journey = await drive(menu, ["1", "1", "hello", "00"])
    assert journey.session.screen == "home"
    assert journey.session.history == []
    assert journey.text == "Mwanzo\n1. A\n2. Tuma"
    after = await drive(menu, ["0"], session=journey.session)
    assert after.text.startswith("Chaguo si sahihi. Chagua 1-2.\n")


async def test_home_on_the_start_screen_is_a_wrong_choice(menu) -> None:
    journey = await drive(menu, ["00"])
    assert journey.text.startswith("Chaguo si sahihi. Chagua 1-2.\n")


async def test_footer_appears_on_every_screen_but_the_start(menu) -> None:
    journey = await drive(menu, ["1", "1", "hello"])
    assert FOOTER_SW not in journey.texts[0]
    for text in journey.texts[1:]:
        assert text.splitlines()[-1] == FOOTER_SW


async def test_navigation_keys_are_configurable(tmp_path: Path) -> None:
    definition = build(tmp_path, FLOW, navigation=NavigationKeys(back="*", home="#", more="99"))
    journey = await drive(definition, ["1", "1"])
    assert journey.text == "Skrini B\n*.Rudi #.Mwanzo"
    back = await drive(definition, ["*"], session=journey.session)
    assert back.session.screen == "a"
    home = await drive(definition, ["#"], session=journey.session)
    assert home.session.screen == "home"


async def test_hops_are_counted_and_the_given_session_is_not_changed(menu) -> None:
    engine = Engine()
    session = new_session(menu)
    started = await engine.start(menu, session)
    assert session.screen == "" and session.hops == 0
    before = started.session.copy()
    result = await engine.hop(menu, started.session, "1")
    assert started.session == before
    assert result.session.hops == 2
    assert result.session.screen == "a"


async def test_show_repeats_the_current_screen(menu) -> None:
    journey = await drive(menu, ["1", "1"])
    shown = Engine().show(menu, journey.session)
    assert shown.reply.text == journey.text
    assert shown.session.screen == "b"


async def test_show_on_a_screen_that_no_longer_exists_starts_over(menu) -> None:
    journey = await drive(menu, ["1", "1"])
    lost = journey.session.copy()
    lost.screen = "gone"
    shown = Engine().show(menu, lost)
    assert shown.session.screen == "home"
    assert shown.session.history == []
    hopped = await Engine().hop(menu, lost, "1")
    assert hopped.session.screen == "home"
    assert hopped.reply.text == "Mwanzo\n1. A\n2. Tuma"


# ---- automatic screens ----------------------------------------------------------------------


async def test_automatic_screens_are_followed_in_the_same_hop(menu) -> None:
    journey = await drive(menu, ["2", "ujumbe"], engine=Engine(ports=MemoryPorts()))
    assert journey.screens == ["home", "body", "sent"]
    assert ("submit", "send") in journey.last.events


async def test_failure_of_an_automatic_screen_restores_the_previous_screen(menu) -> None:
    engine = Engine(ports=BrokenPorts())
    before = await drive(menu, ["2"], engine=engine)
    failed = await drive(menu, ["ujumbe"], engine=engine, session=before.session)
    assert failed.session.screen == "body"
    assert failed.text == f"Huduma haipatikani sasa, jaribu tena.\nUjumbe\n{FOOTER_SW}"
    assert failed.session.vars == before.session.vars  # "ujumbe" was not kept
    assert failed.session.history == before.session.history
    assert failed.session.status is SessionStatus.ACTIVE
    assert failed.session.hops == before.session.hops + 1


async def test_failing_automatic_start_screen_ends_the_session_politely(tmp_path: Path) -> None:
    definition = build(
        tmp_path,
        """
        service: down
        languages: [sw, en]
        start: send
        screens:
          send: {type: submit, backend: x, next: done}
          done: {type: end, text: "{{ reference }}"}
        """,
    )
    journey = await drive(definition, engine=Engine(ports=BrokenPorts()), language="en")
    assert journey.text == "Service unavailable, try again."
    assert journey.last.reply.end
    assert journey.session.status is SessionStatus.CANCELLED


async def test_automatic_loop_is_stopped(tmp_path: Path) -> None:
    definition = build(
        tmp_path,
        """
        service: loop
        languages: [sw]
        start: home
        screens:
          home:
            type: menu
            text: Karibu
            options:
              - {label: Zunguka, next: ping}
          ping:
            type: router
            routes:
              - {when: "language == 'sw'", next: pong}
            default: home
          pong:
            type: router
            routes:
              - {when: "true", next: ping}
            default: home
        """,
    )
    started = await drive(definition)
    with pytest.raises(RuntimeError, match=f"loop: more than {MAX_AUTOMATIC_STEPS} steps"):
        await Engine().hop(definition, started.session, "1")


async def test_long_but_finite_automatic_chain_is_followed(tmp_path: Path) -> None:
    # the guard counts the screen finally shown as a step: MAX - 1 automatic screens are fine
    steps = MAX_AUTOMATIC_STEPS - 2
    routers = "\n".join(
        f"  r{n}:\n    type: router\n    routes:\n      - {{when: 'true', next: r{n + 1}}}\n"
        f"    default: done"
        for n in range(steps)
    )
    text = (
        "service: chain\nlanguages: [sw]\nstart: r0\nscreens:\n"
        f"{routers}\n  r{steps}: {{type: router, routes: [{{when: 'true', next: done}}], "
        "default: done}\n  done: {type: end, text: mwisho}\n"
    )
    definition = build(tmp_path, text)
    journey = await drive(definition)
    assert journey.text == "mwisho"
    assert len(journey.last.events) == MAX_AUTOMATIC_STEPS - 1


# ---- compose ----------------------------------------------------------------------------------


def test_compose_puts_the_hint_above_the_screen() -> None:
    assert compose(None, "A\nB") == "A\nB"
    assert compose("", "A\nB") == "A\nB"
    assert compose("Hint.", "A\nB") == "Hint.\nA\nB"


def test_compose_replaces_the_first_line_when_both_would_not_fit() -> None:
    text = "T" * 110 + "\n" + "x" * 70
    assert compose("Hint.", text) == "Hint.\n" + "x" * 70
    assert compose("H" * 20, "T" * 170) == "H" * 20
    assert fits_ussd(compose("Chaguo si sahihi.", text))


# ---- the real menu, language switches included -----------------------------------------------


async def test_mrejesho_language_switch_and_every_reply_fits() -> None:
    definition = mrejesho()
    entries = [*"3 2 1 1 98 2".split(), "too short", *"0 00 2 BAD 0 x 3 1".split()]
    journey = await drive(definition, entries, engine=Engine(ports=MemoryPorts()))
    for text in journey.texts:
        assert fits_ussd(text), text
    assert [r.language_changed for r in journey.results][:3] == [None, None, "en"]
    assert journey.texts[2] == (
        "Welcome to e-Mrejesho\n1. Give feedback\n2. Track feedback\n3. Language / Lugha"
    )
    assert journey.session.language == "sw"
    assert journey.last.language_changed == "sw"
    assert journey.session.screen == "home"
