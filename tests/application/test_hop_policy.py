"""How the hop policy turns newest-entry requests into cumulative ones and spots repeats."""

from __future__ import annotations

import pytest

from ussd_gateway.application.hops.policy import as_cumulative, is_repeat, newest_entry
from ussd_gateway.domain.session import Session
from ussd_gateway.domain.ussd import UssdRequest


def request(text: str, *, cumulative: bool = False, start: bool = False, marker: str = ""):
    return UssdRequest("p", "s", "*152*00#", "+255712345678", "", text, cumulative, start, marker)


def session(consumed: str, *, hops: int = 3, marker: str = "") -> Session:
    return Session(
        key="p:s", service="mrejesho", phone="+255712345678", language="sw",
        consumed=consumed, hops=hops, marker=marker,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("consumed", "text", "cumulative", "entry"),
    [
        ("", "1", "1", "1"),
        ("1*1", "2", "1*1*2", "2"),
        ("1*1*2", "Nimelipa *mara mbili*", "1*1*2*Nimelipa *mara mbili*", "Nimelipa *mara mbili*"),
        ("1*1", "1*1*2", "1*1*2", "2"),  # the whole input sent again, with the new entry
        ("1", "", "1*", ""),
    ],
)
def test_newest_entry_requests_become_cumulative(
    consumed: str, text: str, cumulative: str, entry: str
) -> None:
    converted = as_cumulative(consumed, request(text))
    assert converted.cumulative and converted.text == cumulative
    assert newest_entry(consumed, converted.text) == entry


def test_cumulative_requests_are_left_alone() -> None:
    original = request("1*1", cumulative=True)
    assert as_cumulative("1", original) is original


@pytest.mark.parametrize(
    ("stored", "incoming", "repeat"),
    [
        (session("1"), request("", start=True), True),  # session start sent again
        (session("", hops=0), request("", start=True), False),
        (session("1", marker="4"), request("1", marker="4"), True),  # same hop id: a retry
        (session("1", marker="4"), request("1", marker="5"), False),  # same entry, new hop
        (session("1*1"), request("1*1"), True),  # whole input again, nothing new
        (session("1"), request("1"), False),  # without a hop id, "1" after "1" is a new entry
        (session("1*1", marker="4"), request("1*1", cumulative=True, marker="4"), False),
        (session("1*1"), request("", cumulative=True), True),  # the first hop again
        (session(""), request("", cumulative=True), False),  # left to the replay of hops.py
    ],
)
def test_repeats(stored: Session, incoming: UssdRequest, repeat: bool) -> None:
    assert is_repeat(stored, incoming) is repeat
