"""Africa's Talking only: its end-of-session notices arrive on a route of their own.

Everything else it shares with the other adapters is in test_every_adapter.py (its fixtures:
``AfricasTalking`` in drivers.py); its form decoding is in test_form_decoding.py.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.providers.drivers import AT_FORM_KEYS
from tests.providers.fuzzing import FUZZ, bodies, json_bodies

EVENT_KEYS = [
    *AT_FORM_KEYS[:4],
    *["date", "status", "cost", "durationInMillis", "hopsCount", "input"],
    *["lastAppResponse", "errorMessage"],
]


@FUZZ
@given(bodies(json_bodies(EVENT_KEYS, {}), EVENT_KEYS), st.sampled_from(["", "text/plain"]))
def test_events_never_answer_5xx(live, body: bytes, content_type: str) -> None:
    status, _, answer = live.post("/ussd/africastalking/events", body, content_type)
    assert status < 500, answer
