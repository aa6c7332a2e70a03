"""The hop service's rules for how a request relates to the session it continues: a typed
message read from a cumulative text with no session, the number a session belongs to, late
copies of earlier hops, and hop markers an aggregator repeats. (The policy's own cases are in
test_hop_policy.py; the citizen's side, through the webhook, in tests/test_hop_rules.py.)
"""

from __future__ import annotations

import pytest

from tests.application.test_hop_service import PHONE, Rig, rig  # noqa: F401 - the rig fixture
from ussd_gateway.domain.phones import same_number
from ussd_gateway.domain.ussd import UssdReply, UssdRequest

TYPE_AGAIN = "Tafadhali andika tena.\nAndika ujumbe"
OTHER = "+255754000111"

# ---- a cumulative text with no session: the message's one reading, or typed again -----------


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("1*lipa *mara mbili*", "lipa *mara mbili*"),  # only the whole leaves a valid path
        ("1*ab*cd", "ab*cd"),  # "ab" is too short to be the note
        ("1*safari", "safari"),  # one piece: no question
    ],
)
async def test_the_only_valid_reading_is_taken_whole(rig: Rig, text: str, note: str) -> None:  # noqa: F811
    reply = await rig.hop(text)
    assert reply.text.startswith(f"Tuma: {note}")
    assert (await rig.session()).vars["note"] == note


@pytest.mark.parametrize(
    "text",
    [
        "1*safari*1",  # "safari" then Yes, or the note "safari*1": either could be
        "1*" + "x" * 60 + "*" + "y" * 60,  # no reading is valid: too long whole, "y…" no choice
        "1*" + "*".join(["abc"] * 40),  # more pieces than are ever read: bounded work
    ],
)
async def test_a_reading_that_cannot_be_told_is_typed_again(rig: Rig, text: str) -> None:  # noqa: F811
    reply = await rig.hop(text)
    assert reply.text.startswith(TYPE_AGAIN) and not reply.end
    session = await rig.session()
    assert session.screen == "note" and "note" not in session.vars
    assert session.consumed == text  # what follows is read after all of it
    again = await rig.hop(f"{text}*safari *2*")
    assert again.text.startswith("Tuma: safari *2*")


async def test_entries_from_the_dial_string_are_entries_whatever_the_screen(rig: Rig) -> None:  # noqa: F811
    reply = await rig.hop("lipa *mara mbili*", service_code="*150*9*1#")
    assert reply.text.startswith("Tuma: lipa *mara mbili*")


# ---- a session belongs to the number that opened it ----------------------------------------


async def test_another_number_is_refused_and_the_session_is_untouched(rig: Rig) -> None:  # noqa: F811
    await rig.hop("")
    await rig.hop("1")
    await rig.hop("1*siri yangu")
    before = await rig.session()
    for text in ("", "1*siri yangu", "1*siri yangu*1"):
        refused = await rig.hop(text, phone=OTHER)
        assert refused.end and refused.text.startswith("Samahani, huduma haipatikani")
        assert "siri" not in refused.text
    assert await rig.session() == before
    assert (await rig.hop("1*siri yangu*1")) == UssdReply("Asante", True)


async def test_another_number_never_gets_a_stalled_reply_meant_for_the_owner(rig: Rig) -> None:  # noqa: F811
    await rig.hop("")
    stalled = UssdRequest("at", "s1", "*150*9#", PHONE, "64002", "1")
    await rig.store.stall("at:s1", stalled.dumps(), 60)
    refused = await rig.hop("1", phone=OTHER)
    assert refused.end and refused.text.startswith("Samahani, huduma haipatikani")
    replayed = await rig.hop("1")
    assert replayed.replayed and replayed.text.startswith("Andika ujumbe")


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("+255712345678", "+255712345678", True),
        ("+255712345678", "255712345678", True),
        ("+255712345678", "0712345678", True),  # a local spelling of the same line
        ("0712345678", "+255 712 345 678", True),
        ("+255712345678", "+255712345679", False),
        ("+255712345678", "0712345679", False),
        ("012345", "+255712012345", False),  # too short to match on its tail
        ("", "+255712345678", False),
    ],
)
def test_numbers_are_compared_normalised(first: str, second: str, same: bool) -> None:
    assert same_number(first, second) is same
    assert same_number(second, first) is same


# ---- late copies and repeated markers -------------------------------------------------------


async def test_a_late_copy_of_an_earlier_hop_answers_the_current_screen(rig: Rig) -> None:  # noqa: F811
    await rig.hop("")
    await rig.hop("1")
    confirm = await rig.hop("1*safari")
    before = await rig.session()
    assert await rig.hop("1") == confirm
    assert await rig.session() == before
    assert rig.observer.moves == [(None, "home"), ("home", "note"), ("note", "confirm")]


async def test_a_hub_repeating_one_id_moves_on_and_is_remembered_as_such(rig: Rig) -> None:  # noqa: F811
    one = {"cumulative": False, "marker": "5", "session": "b"}
    await rig.hop("", start=True, **one)
    note = await rig.hop("1", **one)
    assert note.text.startswith("Andika ujumbe")
    assert (await rig.session("b")).markers_repeat
    again = await rig.hop("1", **one)  # "1" again: an entry (too short a note), not a retry
    assert again.text.startswith("Andika angalau herufi 3.\nAndika ujumbe")
    assert (await rig.hop("safari", **one)).text.startswith("Tuma: safari")
    assert (await rig.hop("1", **one)) == UssdReply("Asante", True)


async def test_a_hub_moving_its_id_on_keeps_its_retries(rig: Rig) -> None:  # noqa: F811
    one = {"cumulative": False, "session": "b"}
    await rig.hop("", start=True, marker="1", **one)
    note = await rig.hop("1", marker="2", **one)
    assert await rig.hop("1", marker="2", **one) == note  # a retry: id and entry as before
    session = await rig.session("b")
    assert not session.markers_repeat and (session.marker, session.entry_len) == ("2", 1)
    assert (await rig.hop("safari", marker="2", **one)).text.startswith("Tuma: safari")
