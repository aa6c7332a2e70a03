"""One aggregator request in, one screen out: session lock, retries, resume, then the engine.

This is where the rules of the field live (providers retry, calls drop, Redis can die); the
engine below stays a pure state machine and the providers above stay format adapters.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Protocol

from ussd_gateway.adapters.sessions.base import (
    Arrival,
    Piggyback,
    SessionStore,
    StoreUnavailable,
    Transaction,
)
from ussd_gateway.application.menus.registry import MenuRegistry, hop_on_version
from ussd_gateway.application.menus.routing import ServiceRouter
from ussd_gateway.config.settings import Settings
from ussd_gateway.domain.privacy import mask_phone
from ussd_gateway.domain.session import Session, SessionStatus
from ussd_gateway.domain.ussd import UssdReply, UssdRequest
from ussd_gateway.engine import directory
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.runner import Engine, HopResult, Reply, compose
from ussd_gateway.ports.observer import HopObserver

log = logging.getLogger(__name__)

RESUME = "1"
RESTART = "2"


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


def stamped(result: HopResult, request: UssdRequest) -> Session:
    """The hop's new session, marked with what it answered: a retry of this request is then
    recognised and given the same screen without running anything again."""
    new = result.session
    new.consumed = request.text
    new.marker = request.marker
    new.last_reply = result.reply.text
    new.last_end = result.reply.end
    new.updated_at = time.time()
    return new


class Admission(Protocol):
    """Checks a hop may go on once its session is locked, from a script run in the lock's
    round trip (the guard's rate limits and stalled-hop memo: ``guard/hops.py``)."""

    piggyback: Piggyback
    refused: bool
    """True once ``decide`` answered with a reply instead of a request."""

    async def decide(self, piggybacked: Any, request: UssdRequest) -> UssdReply | UssdRequest:
        """The reply that ends the hop here, or the request to process (maybe another one)."""
        ...


class HopService:
    """Turns a UssdRequest into a reply, advancing the session exactly once per distinct hop."""

    def __init__(
        self,
        *,
        engine: Engine,
        store: SessionStore,
        router: ServiceRouter | MenuRegistry,
        settings: Settings,
    ) -> None:
        self.engine = engine
        self.store = store
        self.router = router
        self.settings = settings
        self.observer = HopObserver()
        """Told about every hop (metrics, session events); replaced at start-up."""
        from ussd_gateway.application.onetrip import OneTrip

        self.onetrip = OneTrip(self)
        """The one-Redis-trip path, tried first on every hop (``onetrip.py``)."""

    async def handle(self, request: UssdRequest, admission: Admission | None = None) -> UssdReply:
        started = time.perf_counter()
        route = self.router.resolve(request.service_code)
        if route is None:
            log.info(
                "unknown service code %s from %s", request.service_code, mask_phone(request.phone)
            )
            unknown = UssdReply(self._bilingual("unknown_code"), True)
            self.observer.answered(request, None, unknown, time.perf_counter() - started)
            return unknown
        if route.definition is None:  # its menu file is broken: the other services still serve
            log.info("service %s is disabled (broken menu file)", route.unavailable)
            return UssdReply(self._bilingual("unavailable"), True)
        key = f"{request.provider}:{request.session_id}"
        try:
            reply = await self._hop(key, request, route.definition, route.entries, admission)
        except StoreUnavailable as exc:
            log.error("session store unavailable for %s: %s", key, exc)
            self.observer.failed(request, route.definition.service, "sessions")
            return UssdReply(self._bilingual("unavailable"), True)
        if admission is not None and admission.refused:
            return reply  # not a hop of the journey: the guard logged it
        elapsed = time.perf_counter() - started
        if log.isEnabledFor(logging.INFO):  # its arguments cost a hop more than the check
            log.info(
                "hop %s %s %s end=%s %.1fms",
                key,
                route.definition.service,
                mask_phone(request.phone),
                reply.end,
                elapsed * 1000,
            )
        self.observer.answered(request, route.definition.service, reply, elapsed)
        return reply

    async def close(self, provider: str, session_id: str, reason: str, *, dropped: bool) -> bool:
        """The aggregator says the session is over: record why, and end it.

        A dropped session (timeout, lost call) stays resumable within the resume window; one
        the citizen ended is cancelled. False when there is no such session (or no store).
        """
        key = f"{provider}:{session_id}"
        try:
            async with self.store.transaction(key) as tx:
                if tx.session is None:
                    return False
                closed = tx.session.copy()
                was_active = closed.status is SessionStatus.ACTIVE and not closed.end_reason
                closed.end_reason = reason or "ended"
                if not dropped and closed.status is SessionStatus.ACTIVE:
                    closed.status = SessionStatus.CANCELLED
                tx.session = closed
        except StoreUnavailable as exc:
            log.error("session store unavailable closing %s: %s", key, exc)
            return False
        if was_active:  # a journey the engine had not already ended: the funnel's "left here"
            self.observer.session_ended(
                provider, session_id, closed.service, "timed_out" if dropped else "cancelled"
            )
        log.info(
            "session %s ended by %s: %s (%s) at %s",
            key,
            provider,
            closed.end_reason,
            "resumable" if dropped and closed.in_journey else "not resumable",
            closed.screen,
        )
        return True

    def _bilingual(self, key: str) -> str:
        first = self.settings.text(key, self.settings.default_language)
        other = self.settings.text(key, "en")
        return first if first == other else f"{first}\n{other}"

    async def _hop(
        self,
        key: str,
        request: UssdRequest,
        definition: MenuDefinition,
        entries: tuple[str, ...],
        admission: Admission | None = None,
    ) -> UssdReply:
        # -- one-trip hook: a plain hop on a session this process saved last (onetrip.py) --
        fast = await self.onetrip.hop(key, request, definition, admission)
        if fast is not None:
            return fast
        # -- end of the one-trip hook --
        # a dial (empty text) almost always starts a session: fetch what that needs with the lock
        arrival = None if request.text else Arrival(definition.service, request.phone)
        piggyback = admission.piggyback if admission is not None else None
        async with self.store.transaction(key, arrival, piggyback) as tx:
            if admission is not None:
                verdict = await admission.decide(tx.piggybacked, request)
                if isinstance(verdict, UssdReply):
                    return verdict
                request = verdict
            session = tx.session
            if session is not None and definition.service not in (
                session.service,
                session.directory,
            ):
                session = None  # an aggregator reused a session id for another code
            if session is not None and is_repeat(session, request):
                return UssdReply(session.last_reply, session.last_end or bool(session.end_reason))
            if session is not None:
                request = as_cumulative(session.consumed, request)
            if session is None:
                result = await self._first(key, request, definition, entries, tx)
            elif request.text == session.consumed and session.hops:
                # the aggregator retried a hop we already answered: same screen, no change
                return UssdReply(session.last_reply, session.last_end)
            elif session.status is not SessionStatus.ACTIVE or session.end_reason:
                return UssdReply(session.last_reply, True)
            else:
                entry = newest_entry(session.consumed, request.text)
                if session.resume_from is not None:
                    result = await self._answer_resume(session, definition, entry)
                else:
                    result = await self._step(session, definition, entry)
            new = stamped(result, request)
            tx.session = new
            self.observer.advanced(request, session, new)
            if result.language_changed:
                await self.store.remember_language(request.phone, result.language_changed)
            return UssdReply(result.reply.text, result.reply.end)

    async def _first(
        self,
        key: str,
        request: UssdRequest,
        definition: MenuDefinition,
        entries: tuple[str, ...],
        tx: Transaction,
    ) -> HopResult:
        """A new session: offer a dropped journey back, or start (walking an extended code)."""
        prefetched = tx.prefetched and tx.original is None
        language = tx.language if prefetched else await self.store.language(request.phone)
        if language not in definition.languages:
            language = definition.default_language
        session = Session(
            key=key,
            service=definition.service,
            phone=request.phone,
            language=language,
            version=definition.version,
        )
        typed = entries + (tuple(request.text.split("*")) if request.text else ())
        if not typed:
            dropped = (
                tx.resumable
                if prefetched
                else await self.store.resumable(definition.service, request.phone)
            )
            if dropped is not None and self._can_resume(*self._placed(dropped, definition)):
                session.resume_from = dropped.key
                session.hops = 1
                return HopResult(Reply(self.settings.text("resume", language), False), session)
        result = await self.engine.start(definition, session)
        for entry in typed:
            if result.reply.end:
                break
            result = await self._step(result.session, definition, entry)
        return result

    async def _step(self, session: Session, dialled: MenuDefinition, entry: str) -> HopResult:
        """One entry, on the service the session is in (through a directory: maybe not the
        one dialled); the directory key and a directory's choice move the session."""
        if not session.directory:
            current: MenuDefinition | None = dialled
        else:
            current = self.router.definitions.get(session.service)
            if entry.strip() == dialled.navigation.directory:
                return await directory.leave(self.engine, dialled, session)
            if current is None:  # disabled by a reload since it was entered
                current = self._held(session)
                if current is None:
                    hint = self.settings.text("unavailable", session.language)
                    return await directory.leave(self.engine, dialled, session, hint)
            if entry.strip() == dialled.navigation.back and directory.backs_out(session, current):
                return await directory.leave(self.engine, dialled, session, back=True)
        result = await hop_on_version(self.engine, self.router, session, current, entry)
        if result.enter is None:
            return result
        service = self.router.definitions.get(result.enter)
        if service is None:  # disabled since the directory was drawn
            hint = self.settings.text("unavailable", session.language)
            return await directory.leave(self.engine, dialled, result.session, hint)
        log.info("%s enters %s from %s", session.key, service.service, dialled.service)
        return await directory.enter(self.engine, dialled, service, result.session)

    def _held(self, session: Session) -> MenuDefinition | None:
        """The version a session started on, when this process still holds it."""
        if isinstance(self.router, MenuRegistry):
            return self.router.definition(session.service, session.version)
        return None

    def _placed(self, session: Session, current: MenuDefinition) -> tuple[Session, MenuDefinition]:
        """The session with the definition it started on (kept across reloads) if held here."""
        if session.service != current.service:  # dropped inside a service of this directory
            current = self.router.definitions.get(session.service) or current
        if isinstance(self.router, MenuRegistry):
            return self.router.placed(session, current)
        return session, current

    @staticmethod
    def _can_resume(dropped: Session, definition: MenuDefinition) -> bool:
        screen = definition.screens.get(dropped.screen)
        return (
            dropped.in_journey
            and dropped.screen != definition.start
            and screen is not None
            and screen.interactive
            and not screen.ends
            and dropped.version == definition.version
        )

    async def _answer_resume(
        self, session: Session, definition: MenuDefinition, entry: str
    ) -> HopResult:
        entry = entry.strip()
        if entry == RESUME:
            dropped = await self.store.resumable(definition.service, session.phone)
            if dropped is not None:
                dropped, on = self._placed(dropped, definition)
                if self._can_resume(dropped, on):
                    restored = dropped.copy()
                    restored.key = session.key
                    restored.resume_from = None
                    restored.end_reason = ""
                    restored.language = session.language
                    restored.hops = session.hops + 1
                    log.info("resumed %s from %s at %s", session.key, dropped.key, dropped.screen)
                    return self.engine.show(on, restored)
        elif entry != RESTART:
            hint = definition.message("invalid_choice", session.language)
            prompt = compose(hint, self.settings.text("resume", session.language))
            session = session.copy()
            session.hops += 1
            return HopResult(Reply(prompt, False), session)
        await self.store.forget_resumable(definition.service, session.phone)
        fresh = session.copy()
        fresh.resume_from = None
        return await self.engine.start(definition, fresh)
