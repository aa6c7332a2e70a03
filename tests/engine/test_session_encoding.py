"""A session survives its trip to the store whole, whatever fields it gains."""

from __future__ import annotations

import dataclasses
import json
import math

from ussd_gateway.domain.session import Session, SessionStatus


def changed_everywhere() -> Session:
    """A session whose every field differs from its default."""
    values = {
        "key": "africastalking:s1",
        "service": "mrejesho",
        "phone": "+255712345678",
        "language": "en",
        "screen": "body",
        "vars": {"kind": "complaint", "anonymous": False},
        "history": ["home", "kind"],
        "page": 2,
        "status": SessionStatus.CANCELLED,
        "consumed": "1*1",
        "last_reply": "CON Andika",
        "last_end": True,
        "hops": 3,
        "started_at": 1.5,
        "updated_at": 2.5,
        "resume_from": "africastalking:s0",
        "version": "abc",
        "submissions": 1,
        "marker": "7",
        "entry_len": 6,
        "markers_repeat": True,
        "end_reason": "timeout",
        "directory": "serikali",
        "journey": "africastalking:s0",
        "submitting": "send",
        "unseen": True,
    }
    missing = {f.name for f in dataclasses.fields(Session)} - set(values)
    assert not missing, f"add {missing} to this test"
    return Session(**values)


def test_every_field_survives_dumps_and_loads() -> None:
    session = changed_everywhere()
    assert Session.loads(session.dumps()) == session


def test_fields_at_their_default_are_left_out() -> None:
    session = Session(key="k", service="s", phone="p", language="sw", started_at=1, updated_at=1)
    assert Session.loads(session.dumps()) == session
    assert set(json.loads(session.dumps())) == {
        "key", "service", "phone", "language", "started_at", "updated_at",
    }  # fmt: skip


def test_copy_is_whole_and_independent() -> None:
    session = changed_everywhere()
    copy = session.copy()
    assert copy == session  # a field copy() forgot is unset on the copy: this comparison fails
    copy.vars["kind"] = "praise"
    copy.history.append("body")
    assert session.vars["kind"] == "complaint" and session.history == ["home", "kind"]


def test_blobs_written_by_the_standard_library_still_load() -> None:
    session = changed_everywhere()
    data = json.loads(session.dumps())
    assert data == json.loads(json.dumps(data))  # the same JSON the stdlib encoder wrote
    old = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    assert Session.loads(old) == session
    assert Session.loads(old.encode()) == session


def test_values_only_the_standard_library_handles_still_round_trip() -> None:
    """An int key (JSON makes it a string) and an int past 64 bits; NaN in an old blob."""
    session = changed_everywhere()
    session.vars = {"big": 2**70, 3: "three", "é": "ñ"}
    assert Session.loads(session.dumps()).vars == {"big": 2**70, "3": "three", "é": "ñ"}
    old = session.dumps().replace('"big":1180591620717411303424', '"big":NaN')
    assert math.isnan(Session.loads(old).vars["big"])


def test_fields_from_a_newer_version_are_ignored() -> None:
    session = changed_everywhere()
    newer = session.dumps()[:-1] + ',"added_later":[1,2]}'
    assert Session.loads(newer) == session
