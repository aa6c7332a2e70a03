"""A backend that is down is reported once, then at a calm interval, and when it is back."""

from __future__ import annotations

from ussd_gateway.adapters.outbox.down_notices import DownNotices


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_backend_is_reported_once_then_every_quiet_interval() -> None:
    clock = Clock()
    notices = DownNotices(quiet_for=300, clock=clock)
    first = notices.failed("feedback", "connection refused")
    assert first is not None and first.startswith("backend feedback is failing: connection refused")
    said = []
    for _ in range(100):  # every poll for five minutes: silence
        clock.now += 2.9
        said.append(notices.failed("feedback", "connection refused"))
    assert said == [None] * 100
    clock.now += 11
    reminder = notices.failed("feedback", "HTTP 503")
    assert reminder == (
        "backend feedback still failing after 301 s (102 failed attempts): HTTP 503"
    )
    assert notices.failed("meetings", "timeout") is not None  # each backend on its own
    clock.now += 9
    assert notices.delivered("feedback") == (
        "backend feedback is delivering again after 310 s and 102 failed attempts"
    )
    assert notices.delivered("feedback") is None
    assert notices.failed("feedback", "connection refused") is not None  # down again: said again
