"""The guard as a wrapper: what it lets through to the handler behind it, and what a citizen
sees when it does not. Counters in this process, windows on an injected clock (no sleeping
through a rate-limit window); the handler behind it is a real one that records its calls, and
the stalled hop is left in a real in-process session store."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tests.conftest import project_settings
from ussd_gateway.adapters.limits import MemoryLimitState
from ussd_gateway.adapters.sessions import MemorySessionStore
from ussd_gateway.application.guard import GuardedHops
from ussd_gateway.config.guard import Limits, Window
from ussd_gateway.domain.ussd import BadRequest, UssdReply, UssdRequest

PHONE = "+255712345678"
RATE_LIMITED_EN = "Sorry, you sent too many requests in a short time. Please try again in a minute."


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Behind:
    """The handler the guard wraps: answers with the text it got, after ``delay`` seconds."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.delay = 0.0
        self.closed: list[str] = []

    async def handle(self, request: UssdRequest) -> UssdReply:
        self.seen.append(request.text)
        await asyncio.sleep(self.delay)
        return UssdReply(f"screen for {request.text!r}", False)

    async def close(self, provider: str, session_id: str, reason: str, *, dropped: bool) -> bool:
        self.closed.append(session_id)
        return True


def request(text: str = "", session: str = "s1", phone: str = PHONE) -> UssdRequest:
    return UssdRequest("at", session, "*152*00#", phone, "64002", text)


def guarded(
    behind: Behind,
    clock: Clock,
    languages: dict[str, str] | None = None,
    store: MemorySessionStore | None = None,
    **limits,
):
    async def language(phone: str) -> str | None:
        return (languages or {}).get(phone)

    store = store or MemorySessionStore()
    return GuardedHops(
        behind,
        limits=dataclasses.replace(Limits(), **limits),
        state=MemoryLimitState(clock=clock),
        settings=project_settings(),
        language=language,
        stall=store.stall,
        forget_stalled=store.forget_stalled,
        clock=clock,
    )


async def test_a_number_over_its_limit_gets_a_polite_end_until_the_next_window() -> None:
    behind, clock = Behind(), Clock(1_800_000_000.0)
    guard = guarded(behind, clock, {PHONE: "en"}, phone=Window(3, 60.0), hop_deadline=0)
    for text in ("", "1", "1*1"):
        assert not (await guard.handle(request(text))).end
    refused = await guard.handle(request("1*1*1"))
    assert refused == UssdReply(RATE_LIMITED_EN, True)
    assert behind.seen == ["", "1", "1*1"]  # the refused hop never reached the session
    other = await guard.handle(request("", session="s2", phone="+255754000111"))
    assert not other.end  # another number has its own count
    clock.now += 60  # the next window
    assert (await guard.handle(request("1*1*1"))).text == "screen for '1*1*1'"


async def test_fields_over_their_limit_are_a_bad_request() -> None:
    guard = guarded(Behind(), Clock(), fields={"text": 5})
    with pytest.raises(BadRequest, match="text longer than 5 characters"):
        await guard.handle(request("1*2*3*4"))


async def test_without_limits_or_deadline_the_guard_stands_aside() -> None:
    behind = Behind()
    guard = guarded(behind, Clock(), phone=Window(0, 60.0), hop_deadline=0)
    assert await guard.handle(request("1")) == UssdReply("screen for '1'", False)
    assert await guard.close("at", "s1", "release", dropped=False) is True
    assert behind.closed == ["s1"]


async def test_a_stalled_hop_asks_to_continue_and_is_left_with_its_session() -> None:
    behind, store = Behind(), MemorySessionStore()
    guard = guarded(behind, Clock(), store=store, hop_deadline=0.05)
    behind.delay = 0.2
    still = await guard.handle(request("1"))
    assert still.text.startswith("Bado tunashughulikia ombi lako.") and not still.end
    async with store.transaction("at:s1") as tx:  # what the hop service replays next
        assert UssdRequest.loads(tx.stalled or "") == request("1")
    behind.delay = 0.3
    await guard.handle(request("1*1"))  # stalls again: the first stalled request stays
    async with store.transaction("at:s1") as tx:
        assert UssdRequest.loads(tx.stalled or "") == request("1")
    await guard.drain()  # the late hops finish in the background
    assert behind.seen == ["1", "1*1"]


async def test_a_burst_is_judged_on_the_counts_already_seen() -> None:
    """Requests of one number at the very same moment pass on the count seen before them (the
    guard never waits for the count); once counted, the next one is refused."""
    behind, clock = Behind(), Clock()
    guard = guarded(behind, clock, phone=Window(2, 60.0), hop_deadline=0)
    burst = await asyncio.gather(
        *(guard.handle(request(str(n), session=f"b{n}")) for n in range(4))
    )
    assert not any(reply.end for reply in burst)  # all four counted, none refused yet
    await asyncio.sleep(0)  # the counts have arrived
    assert (await guard.handle(request("x", session="b9"))).end
