"""How an aggregator's request relates to the session it continues: retries and entries.

Aggregators differ: Africa's Talking sends every entry so far joined with ``*`` (cumulative),
Beem and Hubtel only the newest, some telcos resend the whole input. Providers retry a hop
they got no answer for. These rules turn all of that into "the same hop again" or "this new
entry", so the engine below sees each entry exactly once.
"""

from __future__ import annotations

import dataclasses
import time

from ussd_gateway.domain.session import Session
from ussd_gateway.domain.ussd import UssdRequest
from ussd_gateway.engine.runner import HopResult


def newest_entry(consumed: str, text: str) -> str:
    """The part of a cumulative ``text`` the session has not seen yet.

    Splitting on ``*`` would cut a message that itself contains ``*``; knowing how much of the
    text was already consumed, everything after it is one entry, whole.
    """
    if not consumed:
        return text
    if text.startswith(consumed + "*"):
        return text[len(consumed) + 1 :]
    # the telco rewrote the history: the newest entry is the best we can do
    return text.rsplit("*", 1)[-1]


def as_cumulative(consumed: str, request: UssdRequest) -> UssdRequest:
    """A newest-entry request as if the aggregator had sent every entry joined with ``*``.

    A telco that sends the whole input again instead of only the newest entry is recognised by
    the input so far followed by ``*``.
    """
    if request.cumulative:
        return request
    text = request.text
    if consumed and not text.startswith(consumed + "*"):
        text = f"{consumed}*{text}"
    return dataclasses.replace(request, text=text, cumulative=True)


def is_repeat(session: Session, request: UssdRequest) -> bool:
    """A hop the session already answered, to be given the same screen and change nothing.

    - a repeated session start (for cumulative text, the empty first hop again);
    - cumulative text that is a strict prefix of what the session consumed: a late copy of an
      earlier hop (nobody can take back what they typed), which must not be read as an entry
      on the screen the citizen is on now;
    - a newest-entry request with the last hop's marker *and* its content: a hub that repeats
      one id on every hop (echoed, counted or constant) is then not stuck on one screen;
    - the whole input sent again with nothing new.

    A hub seen to send the last hop's marker with a new entry (``markers_repeat``) has markers
    that cannot tell a retry from a new hop; in its sessions the same entry twice in a row is a
    new entry. The other way would hold the citizen who answers ``1`` on two screens in a row
    (e-Mrejesho's first two) on the second one forever; a real retry there costs at most one
    screen too far, which the back key undoes, and never a second submission (an ended session
    answers every later hop with its last screen).
    """
    if not session.hops:
        return False
    if request.start:
        return True
    consumed = session.consumed
    if request.cumulative:
        if not request.text:
            return bool(consumed)
        return consumed.startswith(request.text + "*")
    if request.marker and request.marker == session.marker and not session.markers_repeat:
        return request.text == last_content(session)
    return "*" in consumed and request.text == consumed


def last_content(session: Session) -> str:
    """What the last hop's request carried: the tail of ``consumed`` it recorded the length of."""
    return session.consumed[len(session.consumed) - session.entry_len :]


def repeats_markers(session: Session, request: UssdRequest) -> bool:
    """Whether, after this request, the aggregator is known to reuse its hop markers: it sent
    the last hop's marker on a request that was not a retry of it."""
    return session.markers_repeat or (
        bool(request.marker) and request.marker == session.marker and not request.start
    )


def stamped(
    result: HopResult, request: UssdRequest, now: float | None = None, *, received: str = ""
) -> Session:
    """The hop's new session, marked with what it answered: a retry of this request is then
    recognised and given the same screen without running anything again. ``received`` is the
    text as the aggregator sent it (``request`` is the cumulative form)."""
    new = result.session
    new.consumed = request.text
    new.marker = request.marker
    new.entry_len = min(len(received), len(request.text))
    new.last_reply = result.reply.text
    new.last_end = result.reply.end
    new.updated_at = time.time() if now is None else now
    return new
