"""The hop service behind the guard: field limits, rate limits and a per-hop deadline.

Sits between every provider adapter and ``HopService``, so each limit answers through the
provider's own renderer: a limited citizen gets a polite ``END`` in their language, not an
HTTP error the aggregator would show as a network failure.

Limits are checked once the hop's session is locked, from counters read in the lock's own round
trip (``GuardAdmission``): a refused hop takes the lock briefly and changes nothing.

Deadline: when a hop (slow lookup, slow store) is not done within ``limits.hop_deadline``,
the citizen gets ``CON`` "still working / 1. Continue" while the hop runs on, untouched, to
its own end; its session is saved whole or not at all by the store's transaction. Whatever the
citizen answers next, the stalled request is replayed in its place, which the hop service
answers from the saved session (the late result: a lookup's answer, a submission's reference)
or, if the late hop failed, processes again. We chose this over an ``END`` "unavailable"
because an ``END`` makes the citizen dial again and walk back (or resume) and can hide a
reference that was in fact committed; one keypress costs them less.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ussd_gateway.adapters.guard_state import ADMIT_SCRIPT, GuardState
from ussd_gateway.adapters.sessions.base import Piggyback
from ussd_gateway.application.hops import Admission, HopService
from ussd_gateway.application.ratelimit import Counter, counters, exceeded
from ussd_gateway.domain.privacy import mask_phone
from ussd_gateway.domain.ussd import BadRequest, UssdReply, UssdRequest

if TYPE_CHECKING:
    from ussd_gateway.http.guard import Guard

log = logging.getLogger(__name__)

LANGUAGE_WAIT = 0.3
"""Seconds we wait for a number's remembered language before a guard screen; else default."""


def check_fields(request: UssdRequest, limits: Mapping[str, int]) -> None:
    """A BadRequest (400) for a field longer than its configured limit, before any store."""
    for name, limit in limits.items():
        value = getattr(request, name, None)
        if isinstance(value, str) and len(value) > limit:
            raise BadRequest(f"{name} longer than {limit} characters")


def stall_key(request: UssdRequest) -> str:
    return f"ussd:{{{request.provider}:{request.session_id}}}:stalled"


def _encode(request: UssdRequest) -> str:
    return json.dumps(dataclasses.asdict(request))


def _decode(raw: str) -> UssdRequest | None:
    try:
        return UssdRequest(**json.loads(raw))
    except (TypeError, ValueError):
        return None


def _wake(waiter: asyncio.Future[None], *_: object) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def finished_within(task: asyncio.Task[Any], seconds: float) -> bool:
    """Wait up to ``seconds`` for ``task`` and say whether it is done; never cancels it.

    ``asyncio.wait({task}, timeout=…)`` at a third of its cost per hop (no sets, no Python-level
    callbacks): one future woken by whichever comes first, the task's end or a timer. Both are
    removed before returning, so a fast hop leaves no timer behind.
    """
    loop = task.get_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    timer = loop.call_later(seconds, _wake, waiter)
    wake = functools.partial(_wake, waiter)
    task.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        if not task.done():
            task.remove_done_callback(wake)
    return task.done()


async def _admit_alone(state: GuardState, found: list[Counter], memo_key: str) -> list[Any]:
    """``ADMIT_SCRIPT``'s answer for a store that cannot piggyback it (the in-process one)."""
    counts, memo = await state.admit([(c.key, c.window) for c in found], memo_key)
    return [*counts, memo]


class GuardAdmission:
    """One hop's rate limits and stalled-hop memo, checked once its session is locked.

    The counters and the memo are read by ``ADMIT_SCRIPT``, which the session store sends in
    the same round trip as its lock (Redis) or runs once locked (the in-process store).
    """

    def __init__(self, service: GuardedHopService, found: list[Counter], memo_key: str) -> None:
        self.service = service
        self.found = found
        self.memo_key = memo_key
        self.refused = False
        self.decided = False
        """True once the memo was read: ``hop_request`` is the request the hop runs."""
        self.memo: str | None = None
        self.hop_request: UssdRequest | None = None
        self.piggyback = Piggyback(
            ADMIT_SCRIPT,
            (*(c.key for c in found), memo_key),
            tuple(c.window_ms for c in found),
            # not a bound method: self -> piggyback -> self would be a cycle per hop, left to
            # the garbage collector, whose passes over them were most of the p99 (performance.md)
            functools.partial(_admit_alone, service.guard.state, found, memo_key),
        )

    async def decide(self, piggybacked: Any, request: UssdRequest) -> UssdReply | UssdRequest:
        counts, memo = self.service.guard.state.read(piggybacked, len(self.found))
        over = exceeded(self.found, counts)
        self.decided = True
        if over:
            log.warning(
                "rate limited (%s) %s on %s",
                ", ".join(over),
                mask_phone(request.phone),
                request.provider,
            )
            self.refused = True
            return UssdReply(await self.service._text("rate_limited", request), True)
        self.memo = memo
        stalled = _decode(memo) if memo else None
        self.hop_request = stalled or request
        return self.hop_request


class GuardedHopService(HopService):
    """A HopService with the guard's limits in front; same constructor plus ``guard``."""

    def __init__(self, *, guard: Guard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard

    async def handle(self, request: UssdRequest, admission: Admission | None = None) -> UssdReply:
        guard = self.guard
        limits = guard.config.limits
        check_fields(request, limits.fields)
        found = counters(limits, request)
        deadline = limits.hop_deadline
        if not found and deadline <= 0:
            return await super().handle(request)  # nothing to count or remember: no round trip
        memo_key = stall_key(request)
        checks = GuardAdmission(self, found, memo_key)
        if deadline <= 0:  # nothing can overrun: the hop runs here, without a task of its own
            return await self._answered(await super().handle(request, checks), checks)
        task = asyncio.create_task(super().handle(request, checks))
        if await finished_within(task, deadline):
            return await self._answered(task.result(), checks)
        guard.keep(task)
        ttl = self.settings.sessions.ttl
        if checks.decided and checks.hop_request is not None:
            await guard.state.remember(memo_key, _encode(checks.hop_request), ttl)
        else:
            # still waiting for its session's lock, so the memo was not read yet: a memo there
            # is an older stalled hop, still the one to replay, so keep it
            await guard.state.remember(memo_key, _encode(request), ttl, only_if_absent=True)
        log.warning(
            "hop %s:%s still running after %.1fs: asked the citizen to continue",
            request.provider,
            request.session_id,
            deadline,
        )
        return UssdReply(await self._text("still_working", request), False)

    async def _answered(self, reply: UssdReply, checks: GuardAdmission) -> UssdReply:
        """``reply``, once a replayed stalled hop's memo is gone: the citizen has now seen the
        stalled hop's own screen."""
        if checks.memo:
            await self.guard.state.forget(checks.memo_key)
        return reply

    async def _text(self, key: str, request: UssdRequest) -> str:
        """A gateway text in the number's remembered language, else the default language."""
        language = None
        try:
            language = await asyncio.wait_for(self.store.language(request.phone), LANGUAGE_WAIT)
        except Exception as exc:  # a slow or dead store must not delay a polite answer
            log.info("no remembered language for a guard screen: %s", type(exc).__name__)
        return self.settings.text(key, language or self.settings.default_language)
