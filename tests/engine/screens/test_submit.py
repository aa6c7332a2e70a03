"""``submit`` screens: the journey becomes a durable submission, or the citizen keeps it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.helpers import (
    PHONE,
    BrokenPorts,
    MemoryPorts,
    SlowCommitPorts,
    build,
    drive,
    mrejesho,
    new_session,
    parse,
)
from ussd_gateway.domain.references import is_valid
from ussd_gateway.domain.session import SessionStatus
from ussd_gateway.engine.runner import Engine

FEEDBACK = """
service: feedback
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Karibu", en: "Welcome"}
    options:
      - {label: {sw: "Malalamiko", en: "Complaint"}, set: {kind: complaint}, next: body}
  body:
    type: input
    text: {sw: "Ujumbe", en: "Message"}
    validate: {min_length: 3, max_length: 60}
    save_as: body
    next: identify
  identify:
    type: menu
    text: {sw: "Jina?", en: "Name?"}
    options:
      - {label: {sw: "Ndiyo", en: "Yes"}, set: {anonymous: false}, next: name}
      - {label: {sw: "Hapana", en: "No"}, set: {anonymous: true}, next: confirm}
  name:
    type: input
    text: {sw: "Jina lako", en: "Your name"}
    validate: {min_length: 2, max_length: 20}
    save_as: name
    next: confirm
  confirm:
    type: menu
    text: {sw: "Tuma \\"{{ body }}\\"?", en: "Send \\"{{ body }}\\"?"}
    options:
      - {label: {sw: "Tuma", en: "Send"}, next: send}
      - {label: {sw: "Ghairi", en: "Cancel"}, next: cancelled}
  send:
    type: submit
    backend: complaints
    fields: [kind, body, anonymous, name, phone]
    anonymous: anonymous
    kind: kind
    next: done
  done:
    type: end
    text: {sw: "Asante. Kumbukumbu: {{ reference }}", en: "Thanks. Reference: {{ reference }}"}
  cancelled:
    type: end
    text: {sw: "Imeghairiwa", en: "Cancelled"}
"""

NAMED = ["1", "Maji hayatoki", "1", "Juma Hamisi"]
"""Entries up to the confirm screen, giving a name."""
ANONYMOUS = ["1", "Maji hayatoki", "2"]
UNAVAILABLE_SW = "Huduma haipatikani sasa, jaribu tena."


@pytest.fixture
def menu(tmp_path: Path):
    return build(tmp_path, FEEDBACK)


@pytest.fixture
def ports() -> MemoryPorts:
    return MemoryPorts()


async def test_submission_is_stored_and_its_reference_shown(menu, ports: MemoryPorts) -> None:
    journey = await drive(menu, [*NAMED, "1"], engine=Engine(ports=ports))
    [draft] = ports.submitted
    reference = journey.session.vars["reference"]
    assert is_valid(reference)
    assert journey.text == f"Asante. Kumbukumbu: {reference}"
    assert journey.last.reply.end
    assert journey.session.status is SessionStatus.COMPLETED
    assert draft.service == "feedback"
    assert draft.backend == "complaints"
    assert draft.channel == "ussd"
    assert draft.language == "sw"
    assert draft.kind == "complaint"
    assert draft.phone == PHONE
    assert draft.anonymous is False
    assert draft.data == {
        "kind": "complaint",
        "body": "Maji hayatoki",
        "anonymous": False,
        "name": "Juma Hamisi",
        "phone": None,
    }
    assert ("submit", "send") in journey.last.events


async def test_submission_records_the_language_of_the_session(menu, ports) -> None:
    journey = await drive(menu, [*NAMED, "1"], engine=Engine(ports=ports), language="en")
    assert ports.submitted[0].language == "en"
    assert journey.text.startswith("Thanks. Reference: ")


async def test_anonymous_submission_stores_no_phone_and_no_name(menu, ports) -> None:
    # the citizen first gives a name, then goes back and chooses to stay anonymous
    entries = [*NAMED, "0", "0", "2", "1"]
    journey = await drive(menu, entries, engine=Engine(ports=ports))
    assert journey.screens[-4:] == ["name", "identify", "confirm", "done"]
    assert journey.session.vars["name"] == "Juma Hamisi"  # still in the session...
    [draft] = ports.submitted
    assert draft.anonymous is True
    assert draft.phone is None
    assert "name" not in draft.data  # ...but never submitted
    assert "phone" not in draft.data
    assert PHONE not in repr(draft)
    assert draft.data == {"kind": "complaint", "body": "Maji hayatoki", "anonymous": True}


async def test_without_fields_every_variable_is_submitted(tmp_path: Path, ports) -> None:
    definition = build(
        tmp_path, FEEDBACK.replace("    fields: [kind, body, anonymous, name, phone]\n", "")
    )
    await drive(definition, [*NAMED, "1"], engine=Engine(ports=ports))
    assert ports.submitted[0].data == {
        "kind": "complaint",
        "body": "Maji hayatoki",
        "anonymous": False,
        "name": "Juma Hamisi",
    }


async def test_replayed_hop_has_the_same_idempotency_key(menu, ports) -> None:
    engine = Engine(ports=ports)
    confirm = await drive(menu, NAMED, engine=engine)
    # the provider sends the same request twice: the same stored session takes the same entry
    first = await engine.hop(menu, confirm.session, "1")
    second = await engine.hop(menu, confirm.session, "1")
    assert len(ports.keys) == 2
    assert ports.keys[0] == ports.keys[1]
    assert len(ports.submitted) == 1
    assert first.session.vars["reference"] == second.session.vars["reference"]
    assert first.reply == second.reply
    key = ports.keys[0]
    assert key.startswith(f"{confirm.session.key}:") and key.endswith(":send:0")


async def test_different_sessions_have_different_idempotency_keys(menu, ports) -> None:
    engine = Engine(ports=ports)
    for key in ["test:a", "test:b"]:
        started = await engine.start(menu, new_session(menu, key=key))
        await drive(menu, [*NAMED, "1"], engine=engine, session=started.session)
    assert len(set(ports.keys)) == 2
    assert len(ports.submitted) == 2


@pytest.mark.parametrize("engine", [Engine(ports=BrokenPorts()), Engine(ports=None)])
async def test_failed_submission_returns_to_confirm_with_a_hint(menu, engine: Engine) -> None:
    confirm = await drive(menu, NAMED, engine=engine)
    failed = await drive(menu, ["1"], engine=engine, session=confirm.session)
    session = failed.session
    assert failed.text == f"{UNAVAILABLE_SW}\n{confirm.text}"
    assert not failed.last.reply.end
    assert session.screen == "confirm"
    assert session.vars == confirm.session.vars
    assert "reference" not in session.vars
    assert session.history == confirm.session.history
    assert session.status is SessionStatus.ACTIVE
    assert session.hops == confirm.session.hops + 1


async def test_failed_submission_hint_is_translated(menu) -> None:
    engine = Engine(ports=BrokenPorts())
    journey = await drive(menu, [*NAMED, "1"], engine=engine, language="en")
    assert journey.text.startswith("Service unavailable, try again.\nSend ")


async def test_citizen_can_retry_after_a_failed_submission(menu, ports) -> None:
    broken = Engine(ports=BrokenPorts())
    failed = await drive(menu, [*NAMED, "1"], engine=broken)
    journey = await drive(menu, ["1"], engine=Engine(ports=ports), session=failed.session)
    assert journey.session.screen == "done"
    assert ports.submitted[0].data["body"] == "Maji hayatoki"
    # and the back key still walks the journey they made before the failure
    back = await drive(menu, ["0"], engine=broken, session=failed.session)
    assert back.session.screen == "name"


async def test_slow_submission_times_out_and_a_retry_gets_the_same_reference(menu) -> None:
    ports = SlowCommitPorts(delay=5.0)
    engine = Engine(ports=ports, submit_timeout=0.05)
    confirm = await drive(menu, NAMED, engine=engine)
    started = time.monotonic()
    timed_out = await drive(menu, ["1"], engine=engine, session=confirm.session)
    assert time.monotonic() - started < 1.0
    assert timed_out.session.screen == "confirm"
    assert timed_out.session.submitting == "send"  # the next hop looks for it first
    assert timed_out.text.startswith("Tunathibitisha ombi lako; tuma tena.\n")
    assert len(ports.submitted) == 1  # the commit landed after all
    ports.delay = 0
    retried = await drive(menu, ["1"], engine=engine, session=timed_out.session)
    assert retried.session.screen == "done"
    assert len(ports.submitted) == 1
    assert ports.keys[0] == ports.keys[1]
    assert retried.session.vars["reference"] == next(iter(ports.references.values()))


async def test_two_different_submissions_in_one_session_are_both_stored(
    tmp_path: Path, ports
) -> None:
    again = FEEDBACK.replace(
        '  done:\n    type: end\n    text: {sw: "Asante. Kumbukumbu: {{ reference }}", '
        'en: "Thanks. Reference: {{ reference }}"}',
        '  done:\n    type: menu\n    text: "Kumbukumbu: {{ reference }}"\n'
        "    options:\n      - {label: {sw: Tena, en: Again}, next: home}",
    )
    assert again != FEEDBACK
    definition = build(tmp_path, again)
    engine = Engine(ports=ports)
    first = await drive(definition, [*ANONYMOUS, "1"], engine=engine)
    assert first.session.screen == "done"
    second = await drive(
        definition, ["1", "1", "Umeme umekatika", "2", "1"], engine=engine, session=first.session
    )
    assert second.session.screen == "done"
    bodies = [d.data["body"] for d in ports.submitted]
    assert bodies == ["Maji hayatoki", "Umeme umekatika"]
    assert first.session.vars["reference"] != second.session.vars["reference"]


# ---- the real menu --------------------------------------------------------------------------


async def test_mrejesho_anonymous_feedback_end_to_end(ports) -> None:
    definition = mrejesho()
    entries = ["1", "2", "3", "Huduma ni nzuri sana, asanteni", "2", "1"]
    journey = await drive(definition, entries, engine=Engine(ports=ports))
    assert journey.screens == [
        "home", "kind", "institution", "body", "identify", "confirm", "done",
    ]  # fmt: skip
    [draft] = ports.submitted
    reference = journey.session.vars["reference"]
    assert f"Namba ya kumbukumbu: {reference}" in journey.text
    assert journey.session.status is SessionStatus.COMPLETED
    assert draft.backend == "feedback"
    assert draft.kind == "suggestion"
    assert draft.phone is None and draft.anonymous
    assert draft.data["institution"] == "nida"
    assert "name" not in draft.data
    assert "(bila jina)" in journey.texts[-2]


async def test_mrejesho_named_feedback_keeps_the_phone(ports) -> None:
    definition = mrejesho()
    entries = ["1", "1", "1", "Umeme unakatika kila siku", "1", "Asha Juma", "1"]
    journey = await drive(definition, entries, engine=Engine(ports=ports), language="en")
    [draft] = ports.submitted
    assert journey.session.screen == "done"
    assert draft.phone == PHONE
    assert draft.data["name"] == "Asha Juma"
    assert draft.data["institution"] == "tanesco"
    assert draft.data["institution_name"] == "Tanzania Electric Supply Company Limited"
    assert draft.language == "en"


def test_submit_without_backend_is_an_error() -> None:
    _, problems = parse(FEEDBACK.replace("    backend: complaints\n", ""))
    assert [(p.screen, p.message) for p in problems if p.severity == "error"] == [
        ("send", "missing 'backend' (here or the service's own `backend:`)")
    ]
