"""``lookup`` screens: a submission's status during a hop, never keeping the phone waiting."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.helpers import (
    BrokenPorts,
    FailingLookupPorts,
    MemoryPorts,
    build,
    drive,
    mrejesho,
    parse,
    view,
)
from ussd_gateway.domain.references import new_reference
from ussd_gateway.domain.session import SessionStatus
from ussd_gateway.engine.runner import Engine

TRACK = """
service: track
languages: [sw, en]
start: ask
screens:
  ask:
    type: input
    text: {sw: "Kumbukumbu", en: "Reference"}
    validate: {reference: true}
    save_as: ref
    next: find
  find:
    type: lookup
    reference: ref
    statuses:
      pending: {sw: "Inasubiri", en: "Waiting"}
      resolved: {sw: "Imeshughulikiwa", en: "Resolved"}
    next: result
    not_found: missing
    unavailable: later
  result:
    type: end
    text: "{{found.reference}} {{found.date}} {{found.updated}} {{found.label}}|{{found.note}}"
  missing:
    type: end
    text: {sw: "Haipo: {{ ref }}", en: "Not found: {{ ref }}"}
  later:
    type: end
    text: {sw: "Jaribu baadaye", en: "Try later"}
"""


@pytest.fixture
def menu(tmp_path: Path):
    return build(tmp_path, TRACK)


async def test_found_submission_is_shown_with_its_status_label(menu) -> None:
    ports = MemoryPorts()
    reference = new_reference()
    ports.add(view(reference, "resolved", note="Tumerekebisha bomba"))
    journey = await drive(menu, [reference.lower()], engine=Engine(ports=ports))
    assert ports.lookups == [reference]
    assert journey.session.screen == "result"
    assert journey.text == f"{reference} 05/03/2024 07/03/2024 Imeshughulikiwa|Tumerekebisha bomba"
    assert journey.session.vars["found"]["status"] == "resolved"
    assert journey.session.status is SessionStatus.COMPLETED
    english = await drive(menu, [reference], engine=Engine(ports=ports), language="en")
    assert english.text == f"{reference} 05/03/2024 07/03/2024 Resolved|Tumerekebisha bomba"


async def test_status_without_a_label_is_shown_as_is(menu) -> None:
    ports = MemoryPorts()
    reference = new_reference()
    ports.add(view(reference, "escalated"))
    journey = await drive(menu, [reference], engine=Engine(ports=ports))
    assert journey.text == f"{reference} 05/03/2024 07/03/2024 escalated|"


async def test_unknown_reference_goes_to_not_found(menu) -> None:
    ports = MemoryPorts()
    reference = new_reference()
    journey = await drive(menu, [reference], engine=Engine(ports=ports))
    assert journey.session.screen == "missing"
    assert journey.text == f"Haipo: {reference}"
    assert "found" not in journey.session.vars


async def test_slow_store_goes_to_unavailable_in_time(menu) -> None:
    ports = BrokenPorts(delay=5.0)
    started = time.monotonic()
    journey = await drive(menu, [new_reference()], engine=Engine(ports=ports, lookup_timeout=0.05))
    assert time.monotonic() - started < 1.0
    assert ports.get_calls == 1
    assert journey.session.screen == "later"
    assert journey.text == "Jaribu baadaye"


@pytest.mark.parametrize("ports", [FailingLookupPorts(), None])
async def test_failing_or_missing_store_goes_to_unavailable(menu, ports) -> None:
    journey = await drive(menu, [new_reference()], engine=Engine(ports=ports, lookup_timeout=0.05))
    assert journey.session.screen == "later"


async def test_without_unavailable_screen_the_citizen_stays_with_a_hint(tmp_path: Path) -> None:
    definition = build(
        tmp_path,
        TRACK.replace("    unavailable: later\n", "").replace(
            '  later:\n    type: end\n    text: {sw: "Jaribu baadaye", en: "Try later"}\n', ""
        ),
    )
    assert "later" not in definition.screens
    reference = new_reference()
    engine = Engine(ports=BrokenPorts(delay=5.0), lookup_timeout=0.05)
    journey = await drive(definition, [reference], engine=engine)
    assert journey.session.screen == "ask"
    assert journey.text == "Huduma haipatikani sasa, jaribu tena.\nKumbukumbu"
    assert journey.session.vars == {}
    assert journey.session.status is SessionStatus.ACTIVE


def test_lookup_needs_a_reference_variable_and_next_screens() -> None:
    text = TRACK.replace("    reference: ref\n", "").replace("    not_found: missing\n", "")
    _, problems = parse(text)
    errors = {(p.screen, p.message) for p in problems if p.severity == "error"}
    assert ("find", "missing 'reference'") in errors
    assert ("find", "missing 'not_found'") in errors


def test_status_label_must_have_every_language() -> None:
    _, problems = parse(TRACK.replace('{sw: "Inasubiri", en: "Waiting"}', '{sw: "Inasubiri"}'))
    errors = [(p.screen, p.message) for p in problems if p.severity == "error"]
    assert errors == [("find", "'pending' has no text in en")]


# ---- the real menu --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("pending", "Imepokelewa, inasubiri kutumwa kwa taasisi"),
        # a delivery given up on says so, not "waiting to be handled"
        ("failed", "Bado haijafika kwa taasisi"),
        ("dead", "Bado haijafika kwa taasisi"),
        ("reopened", "Imefunguliwa upya"),
        ("resolved", "Imepatiwa ufumbuzi"),  # not "Imeshughulikiwa", one letter from in progress
    ],
)
async def test_mrejesho_tracking_shows_the_status(status: str, label: str) -> None:
    definition = mrejesho()
    ports = MemoryPorts()
    reference = new_reference()
    ports.add(view(reference, status, note="W" * 120, service="mrejesho"))
    journey = await drive(definition, ["2", reference], engine=Engine(ports=ports))
    assert journey.screens == ["home", "track_ref", "track_result"]
    lines = journey.text.splitlines()
    assert lines[0] == f"Namba ya kumbukumbu {reference} (05/03/2024):"
    assert lines[1] == label
    assert lines[2] == "W" * 57 + "..."  # the note is truncated to fit


async def test_mrejesho_tracking_unknown_and_slow() -> None:
    definition = mrejesho()
    reference = new_reference()
    missing = await drive(definition, ["2", reference], engine=Engine(ports=MemoryPorts()))
    assert missing.session.screen == "track_missing"
    assert missing.text.startswith(
        f"Hakuna mrejesho wenye namba ya kumbukumbu {reference}.\n1. Jaribu tena"
    )
    again = await drive(
        definition, ["1"], engine=Engine(ports=MemoryPorts()), session=missing.session
    )
    assert again.session.screen == "track_ref"
    slow = Engine(ports=BrokenPorts(delay=5.0), lookup_timeout=0.05)
    later = await drive(definition, ["2", reference], engine=slow, language="en")
    assert later.session.screen == "track_later"
    assert later.text.startswith("Sorry, we cannot get the status right now.")
    assert later.last.reply.end
