"""How the hop policy turns newest-entry requests into cumulative ones and spots repeats."""

from __future__ import annotations

import pytest

from ussd_gateway.application.hops.policy import (
    as_cumulative,
    is_repeat,
    last_content,
    newest_entry,
    repeats_markers,
)
from ussd_gateway.domain.session import Session
from ussd_gateway.domain.ussd import UssdRequest


def request(text: str, *, cumulative: bool = False, start: bool = False, marker: str = ""):
    return UssdRequest("p", "s", "*152*00#", "+255712345678", "", text, cumulative, start, marker)


def session(
    consumed: str, *, hops: int = 3, marker: str = "", last: str | None = None, repeat: bool = False
) -> Session:
    """A session that consumed ``consumed``, its last hop having carried ``last`` (by default
    the piece after the last ``*``)."""
    last = consumed.rsplit("*", 1)[-1] if last is None else last
    return Session(
        key="p:s", service="mrejesho", phone="+255712345678", language="sw",
        consumed=consumed, hops=hops, marker=marker, entry_len=len(last), markers_repeat=repeat,
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
        # a late copy of an earlier cumulative hop: a strict prefix of what was consumed
        (session("1*1*2*Nimelipa"), request("1*1", cumulative=True), True),
        (session("1*1*2*lipa *mara"), request("1*1*2*lipa ", cumulative=True), True),
        (session("1*12"), request("1*1", cumulative=True), False),  # not at an entry's edge
        (session("1*1"), request("1*1*2", cumulative=True), False),  # something new
        # the last hop's marker: a retry only with the last hop's content
        (session("1*1", marker="5"), request("2", marker="5"), False),  # a hub's constant id
        (session("1*1", marker="5"), request("1", marker="5"), True),
        (
            session("1*lipa *mbili", marker="5", last="lipa *mbili"),
            request("mbili", marker="5"),
            False,
        ),
        (
            session("1*lipa *mbili", marker="5", last="lipa *mbili"),
            request("lipa *mbili", marker="5"),
            True,
        ),
        (
            session("1*1*2", marker="5", last="1*1*2"),
            request("1*1*2", marker="5"),
            True,
        ),  # whole input
        (session("1", marker="5"), request("", marker="5"), False),
        # a hub known to repeat its ids: the same entry again is a new entry
        (session("1*1", marker="5", repeat=True), request("1", marker="5"), False),
    ],
)
def test_repeats(stored: Session, incoming: UssdRequest, repeat: bool) -> None:
    assert is_repeat(stored, incoming) is repeat


@pytest.mark.parametrize(
    ("stored", "incoming", "learnt"),
    [
        (session("", marker="5"), request("1", marker="5"), True),  # the first entry, initiate's id
        (session("1", marker="5"), request("1", marker="6"), False),  # ids that move on
        (session("1", marker=""), request("1", marker=""), False),  # no ids at all
        (session("", marker="5"), request("", start=True, marker="5"), False),  # the start again
        (session("1", marker="5", repeat=True), request("1", marker="6"), True),  # once known, kept
    ],
)
def test_a_hub_that_repeats_its_ids_is_recognised(
    stored: Session, incoming: UssdRequest, learnt: bool
) -> None:
    assert repeats_markers(stored, incoming) is learnt


def test_the_last_hops_content_is_the_tail_of_what_was_consumed() -> None:
    assert last_content(session("1*1*Nimelipa *mara", last="Nimelipa *mara")) == "Nimelipa *mara"
    assert last_content(session("1*", last="")) == ""
    assert last_content(session("1", last="1")) == "1"
