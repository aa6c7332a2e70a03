"""The guard in front of the hop service: field limits, rate limits and a per-hop deadline.

A wrapper with the hop service's own narrow interface (``HopHandler``): every provider adapter
calls it, and it calls the hop service only for a hop that may run, so each limit answers
through the provider's own renderer: a limited citizen gets a polite ``END`` in their language,
not an HTTP error the aggregator would show as a network failure. A refused hop never touches
its session.

Rate limits: each request is counted in its number's (one spelling per number) and its
aggregator's window counters, a provider's repeated copy of a hop once, without waiting for
the count (in Redis it rides along with the other hops' calls); the verdict
is taken on the count the guard saw last for that window. A citizen's hops come one after the
other, so each is judged on the count of all before it, as if it had waited; only requests of
one number arriving at the very same time (or at several processes at once) can pass a few
over the limit, which is enough to stop abuse. The guard never waits for Redis.

Deadline: when a hop (slow lookup, slow store) is not done within ``limits.hop_deadline``,
the citizen gets ``CON`` "still working / 1. Continue" while the hop runs on, untouched, to
its own end; its session is saved whole or not at all by the store's transaction. The stalled
request is left with the session (``SessionStore.stall``) before that screen goes out, and
whatever the citizen answers next, the hop service answers the stalled request in its place:
from the saved session (the late result: a lookup's answer, a submission's reference) or, if
the late hop failed, by processing it again. We chose this over an ``END`` "unavailable"
because an ``END`` makes the citizen dial again and walk back (or resume) and can hide a
reference that was in fact committed; one keypress costs them less.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ussd_gateway.adapters.limits import LimitState, Once
from ussd_gateway.application.ratelimit import (
    Counter,
    Repeats,
    SeenCounts,
    counters,
    exceeded,
    hop_identity,
    once,
)
from ussd_gateway.config.guard import Limits
from ussd_gateway.config.settings import Settings
from ussd_gateway.domain.privacy import mask_phone
from ussd_gateway.domain.ussd import BadRequest, UssdReply, UssdRequest
from ussd_gateway.ports.hops import HopHandler

log = logging.getLogger(__name__)

LANGUAGE_WAIT = 0.3
"""Seconds we wait for a number's remembered language before a guard screen; else default."""

LATE_HOP_GRACE = 10.0
"""Seconds shutdown waits for hops that overran their deadline to save their sessions."""


def check_fields(request: UssdRequest, limits: Mapping[str, int]) -> None:
    """A BadRequest (400) for a field longer than its configured limit, before any store."""
    for name, limit in limits.items():
        value = getattr(request, name, None)
        if isinstance(value, str) and len(value) > limit:
            raise BadRequest(f"{name} longer than {limit} characters")


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


class GuardedHops:
    """``inner`` behind the guard's limits and deadline; a ``HopHandler`` itself."""

    def __init__(
        self,
        inner: HopHandler,
        *,
        limits: Limits,
        state: LimitState,
        settings: Settings,
        language: Callable[[str], Awaitable[str | None]],
        stall: Callable[[str, str, float], Awaitable[None]],
        forget_stalled: Callable[[str], Awaitable[None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inner = inner
        self.limits = limits
        self.state = state
        self.settings = settings
        self.language = language
        """The language a number chose last (the session store's), for the guard's screens."""
        self.stall = stall
        """Leaves a stalled request with its session (the session store's ``stall``)."""
        self.forget_stalled = forget_stalled
        self.clock = clock
        """Wall-clock seconds: rate-limit windows are counted in them across processes."""
        self.counts = SeenCounts(clock)
        self.repeats = Repeats(clock)
        self._late: set[asyncio.Task[UssdReply]] = set()

    async def handle(self, request: UssdRequest) -> UssdReply:
        limits = self.limits
        check_fields(request, limits.fields)
        found = counters(limits, request, self.clock(), self.settings.country_code)
        copy: Once | None = None
        over: list[str] = []
        if found:
            identity = hop_identity(request)
            copy = once(identity, found)
            seen = [self.counts.seen(c.key) for c in found]
            over = exceeded(found, seen)
            if over and self.repeats.allowed(identity):
                over = []  # a copy of a hop that was let through: judged as it was
            elif not over:
                self.repeats.remember(identity, found, seen)
        if over:
            self._count(found, copy)
            log.warning(
                "rate limited (%s) %s on %s",
                ", ".join(over),
                mask_phone(request.phone),
                request.provider,
            )
            return UssdReply(await self._text("rate_limited", request), True)
        deadline = limits.hop_deadline
        if deadline <= 0:  # nothing can overrun: the hop runs here, without a task of its own
            self._count(found, copy)
            return await self._answered(await self.inner.handle(request), request)
        task = asyncio.create_task(self.inner.handle(request))
        self._count(found, copy)  # after the hop's task: the count joins its first Redis call
        if await finished_within(task, deadline):
            return await self._answered(task.result(), request)
        self._keep(task)
        try:
            await self.stall(request.session_key, request.dumps(), self.settings.sessions.ttl)
        except Exception as exc:  # the store is down: the late hop's own answer will say so
            log.warning("could not remember a stalled hop: %s", type(exc).__name__)
        log.warning(
            "hop %s:%s still running after %.1fs: asked the citizen to continue",
            request.provider,
            request.session_id,
            deadline,
        )
        return UssdReply(await self._text("still_working", request), False)

    def _count(self, found: list[Counter], copy: Once | None) -> None:
        """Count the request (not a provider's copy of it), without waiting: the next request
        is judged on it."""
        if found:
            counted = self.state.count_soon([(c.key, c.window) for c in found], copy)
            self.counts.follow(found, counted)

    async def close(self, provider: str, session_id: str, reason: str, *, dropped: bool) -> bool:
        return await self.inner.close(provider, session_id, reason, dropped=dropped)

    async def drain(self, grace: float = LATE_HOP_GRACE) -> None:
        """Let hops that overran their deadline save their sessions before the stores close."""
        if self._late:
            await asyncio.wait(set(self._late), timeout=grace)

    async def _answered(self, reply: UssdReply, request: UssdRequest) -> UssdReply:
        """``reply``, in time: when it answers a replayed stalled request, the citizen now sees
        that request's own screen, and their next entry is their own again."""
        if reply.replayed:
            try:
                await self.forget_stalled(request.session_key)
            except Exception as exc:  # the store is down: the next hop replays it once more
                log.warning("could not forget a replayed hop: %s", type(exc).__name__)
        return reply

    async def _text(self, key: str, request: UssdRequest) -> str:
        """A gateway text in the number's remembered language, else the default language."""
        language = None
        try:
            language = await asyncio.wait_for(self.language(request.phone), LANGUAGE_WAIT)
        except Exception as exc:  # a slow or dead store must not delay a polite answer
            log.info("no remembered language for a guard screen: %s", type(exc).__name__)
        return self.settings.text(key, language or self.settings.default_language)

    def _keep(self, task: asyncio.Task[UssdReply]) -> None:
        """Let a hop that overran its deadline finish in the background, and log its end."""
        self._late.add(task)
        task.add_done_callback(self._late_done)

    def _late_done(self, task: asyncio.Task[UssdReply]) -> None:
        self._late.discard(task)
        if task.cancelled():
            log.warning("late hop cancelled")
        elif task.exception() is not None:
            log.error("late hop failed", exc_info=task.exception())
        else:
            log.info("late hop finished; its screen waits for the citizen's next entry")
