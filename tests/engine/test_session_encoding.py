"""A session survives its trip to the store whole, whatever fields it gains."""

from __future__ import annotations

import dataclasses
import json

from ussd_gateway.engine.session import Session, SessionStatus


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
        "end_reason": "timeout",
        "directory": "serikali",
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
