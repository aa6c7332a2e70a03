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
    """A hop the session already answered: a repeated session start (for cumulative text, the
    empty first hop again), a newest-entry retry (same hop marker) or the whole input sent again
    with nothing new."""
    if not session.hops:
        return False
    if request.start:
        return True
    if request.cumulative:
        return not request.text and bool(session.consumed)
    if request.marker and request.marker == session.marker:
        return True
    return "*" in session.consumed and request.text == session.consumed


def stamped(result: HopResult, request: UssdRequest, now: float | None = None) -> Session:
    """The hop's new session, marked with what it answered: a retry of this request is then
    recognised and given the same screen without running anything again."""
    new = result.session
    new.consumed = request.text
    new.marker = request.marker
    new.last_reply = result.reply.text
    new.last_end = result.reply.end
    new.updated_at = time.time() if now is None else now
    return new
