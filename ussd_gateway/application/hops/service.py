"""One aggregator request in, one screen out: the session's lock, retries, resume, then the
engine.

This is where the rules of the field meet the session (``policy``: providers retry, text arrives
cumulative or one entry at a time; calls drop and are offered back; Redis can die). The engine
below stays a pure state machine, the guard in front decides whether a hop may run at all, and
the providers above stay format adapters.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from ussd_gateway.application.hops.policy import (
    as_cumulative,
    is_repeat,
    newest_entry,
    repeats_markers,
    stamped,
)
from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.config.settings import Settings
from ussd_gateway.domain.gsm import fits_ussd
from ussd_gateway.domain.phones import same_number
from ussd_gateway.domain.privacy import mask_phone
from ussd_gateway.domain.session import Session, SessionStatus
from ussd_gateway.domain.ussd import UssdReply, UssdRequest
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.navigation import Navigator
from ussd_gateway.engine.runner import Engine, HopResult, Reply, compose
from ussd_gateway.ports.observer import HopObserver, NoObserver
from ussd_gateway.ports.sessions import Arrival, SessionStore, StoreUnavailable, Transaction

log = logging.getLogger(__name__)

RESUME = "1"
RESTART = "2"

DEADLINE_MARGIN = 0.05
"""Seconds before the guard's deadline from which a hop's final screen may already be late."""


class HopService:
    """Turns a UssdRequest into a reply, advancing the session exactly once per distinct hop."""

    def __init__(
        self,
        *,
        engine: Engine,
        store: SessionStore,
        menus: MenuRegistry,
        settings: Settings,
        observer: HopObserver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.store = store
        self.menus = menus
        self.settings = settings
        self.observer: HopObserver = observer or NoObserver()
        self.clock = clock
        """Wall-clock seconds, for the session's ``updated_at``."""
        self.navigator = Navigator(engine, menus)

    async def handle(self, request: UssdRequest) -> UssdReply:
        started = time.perf_counter()
        route = self.menus.resolve(request.service_code)
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
        key = request.session_key
        try:
            reply = await self._hop(key, request, route.definition, route.entries)
        except StoreUnavailable as exc:
            log.error("session store unavailable for %s: %s", key, exc)
            self.observer.failed(request, route.definition.service, "sessions")
            return UssdReply(self._bilingual("unavailable"), True)
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
        self.observer.answered(request, reply.service or route.definition.service, reply, elapsed)
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
            why = "timed_out" if dropped else "cancelled"
            self.observer.session_ended(provider, session_id, closed.service, why)
            if closed.directory:  # and the directory it was entered from ends with it
                self.observer.session_ended(provider, session_id, closed.directory, why)
        log.info(
            "session %s ended by %s: %s (%s) at %s",
            key,
            provider,
            closed.end_reason,
            "resumable" if dropped and closed.in_journey else "not resumable",
            closed.screen,
        )
        return True

    def _overran(self, started: float) -> bool:
        """Whether a hop begun at ``started`` is past the guard's deadline (within a margin:
        the guard's clock started a little earlier), so its citizen got "still working"."""
        deadline = self.settings.limits.hop_deadline
        return deadline > 0 and time.perf_counter() - started > deadline - DEADLINE_MARGIN

    def _bilingual(self, key: str) -> str:
        first = self.settings.text(key, self.settings.default_language)
        other = self.settings.text(key, "en")
        return first if first == other else f"{first}\n{other}"

    def _unavailable(self, language: str) -> str:
        return self.settings.text("unavailable", language)

    async def _hop(
        self,
        key: str,
        request: UssdRequest,
        definition: MenuDefinition,
        entries: tuple[str, ...],
    ) -> UssdReply:
        # a dial (empty text) almost always starts a session: fetch what that needs with the lock
        arrival = None if request.text else Arrival(definition.service, request.phone)
        started = time.perf_counter()
        async with self.store.transaction(key, arrival) as tx:
            stalled = UssdRequest.loads(tx.stalled) if tx.stalled is not None else None
            if _foreign(tx.session, stalled, request):
                return self._refused(key, tx.session, stalled, request)
            if stalled is None:
                return await self._locked(tx, request, definition, entries, started)
            # a hop of this session overran its deadline and the citizen was asked to continue:
            # whatever they sent now, the stalled request is answered in its place (from its
            # saved session, or again if it failed); the guard left it there, and forgets it
            # once this reply reaches the citizen in time
            reply = await self._locked(tx, stalled, definition, entries, started)
            _swallow(tx, request)
            return dataclasses.replace(reply, replayed=True)

    async def _locked(
        self,
        tx: Transaction,
        request: UssdRequest,
        definition: MenuDefinition,
        entries: tuple[str, ...],
        started: float,
    ) -> UssdReply:
        """The hop, its session locked and loaded in ``tx``."""
        session = tx.session
        if session is not None and definition.service not in (session.service, session.directory):
            session = None  # an aggregator reused a session id for another code
        if session is not None and session.submitting and session.status is SessionStatus.ACTIVE:
            # a submission outlasted an earlier hop: once stored, its reference is the answer,
            # whatever was sent (the replayed send, a retry, another press of send)
            settled = await self.navigator.settle(definition, session)
            if settled is not None:
                return self._stamp(tx, request, session, settled, started)
        if session is not None and session.unseen:
            # answered now, in time: the final screen reaches the citizen, and a redial no
            # longer needs to show it again
            seen = tx.session = session.copy()
            seen.unseen = False
        if session is not None and is_repeat(session, request):
            ended = session.last_end or bool(session.end_reason)
            return UssdReply(session.last_reply, ended, service=session.service)
        received = request.text
        repeating = session is not None and repeats_markers(session, request)
        if session is not None:
            request = as_cumulative(session.consumed, request)
        if session is None:
            result = await self._first(tx.key, request, definition, entries, tx)
        elif request.text == session.consumed and session.hops:
            # the aggregator retried a hop we already answered: same screen, no change
            return UssdReply(session.last_reply, session.last_end, service=session.service)
        elif session.status is not SessionStatus.ACTIVE or session.end_reason:
            return UssdReply(session.last_reply, True, service=session.service)
        else:
            entry = newest_entry(session.consumed, request.text)
            if session.resume_from is not None:
                result = await self._answer_resume(session, definition, entry)
            else:
                result = await self.navigator.step(definition, session, entry, self._unavailable)
        if result.language_changed:
            await self.store.remember_language(request.phone, result.language_changed)
        return self._stamp(tx, request, session, result, started, received, repeating)

    def _stamp(
        self,
        tx: Transaction,
        request: UssdRequest,
        session: Session | None,
        result: HopResult,
        started: float,
        received: str | None = None,
        repeating: bool = False,
    ) -> UssdReply:
        """``result`` as the session's new state, saved when ``tx`` ends; ``received``: the
        request's text as sent (before it was made cumulative)."""
        new = stamped(
            result, request, self.clock(), received=request.text if received is None else received
        )
        new.markers_repeat = repeating
        before = session.submissions if session is not None else 0
        if new.submissions > before and new.status is not SessionStatus.ACTIVE:
            new.unseen = self._overran(started)
        tx.session = new
        self.observer.advanced(request, session, new)
        return UssdReply(result.reply.text, result.reply.end, service=new.service)

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
            if dropped is not None and dropped.unseen and dropped.last_reply:
                # its journey ended on a reference after the call had dropped: shown once
                log.info("%s: shows %s's final screen, never seen", key, dropped.key)
                session.status = SessionStatus.COMPLETED
                session.screen = dropped.screen
                session.hops = 1
                return HopResult(Reply(dropped.last_reply, True), session)
            if dropped is not None and dropped.submitting:
                # its call dropped while its submission was being written: when it was
                # stored, the redial shows its reference instead of offering it again
                settled = await self._settle_dropped(session, dropped, definition)
                if settled is not None:
                    return settled
            if dropped is not None and _can_resume(*self._placed(dropped, definition)):
                session.resume_from = dropped.key
                session.hops = 1
                prompt = self._resume_prompt(dropped, definition, language)
                return HopResult(Reply(prompt, False), session)
        result = await self.engine.start(definition, session)
        for entry in entries:  # from the dial string: entries, whatever the screen
            if result.reply.end:
                return result
            result = await self.navigator.step(definition, result.session, entry, self._unavailable)
        return await self._walk(definition, result, request.text.split("*") if request.text else [])

    async def _walk(
        self, definition: MenuDefinition, result: HopResult, pieces: list[str]
    ) -> HopResult:
        """Cumulative text with no session to say where a typed message began and ended: a
        free-text screen takes the one reading of it that leaves a valid path, or, when that
        cannot be told, the citizen types it again there (nothing is stored cut in two)."""
        while pieces and not result.reply.end:
            taken = await self.navigator.reading(definition, result.session, pieces)
            if taken is None:
                on = self.menus.definitions.get(result.session.service) or definition
                hint = on.message("type_again", result.session.language)
                result.reply = Reply(compose(hint, result.reply.text), False)
                return result
            entry, pieces = "*".join(pieces[:taken]), pieces[taken:]
            result = await self.navigator.step(definition, result.session, entry, self._unavailable)
        return result

    def _refused(
        self, key: str, session: Session | None, stalled: UssdRequest | None, request: UssdRequest
    ) -> UssdReply:
        """A hop from another number on a session id that is taken: see ``_foreign``."""
        owner = session.phone if session is not None else stalled.phone if stalled else ""
        log.warning(
            "session %s belongs to %s: refused a hop from %s",
            key,
            mask_phone(owner),
            mask_phone(request.phone),
        )
        return UssdReply(self._bilingual("unavailable"), True)

    async def _settle_dropped(
        self, session: Session, dropped: Session, definition: MenuDefinition
    ) -> HopResult | None:
        """The final screen of a dropped journey whose submission was stored after all."""
        placed, on = self._placed(dropped, definition)
        settled = await self.engine.settle(on, _resumed(placed, session))
        if settled is not None:
            log.info("%s: the submission %s left unconfirmed was stored", session.key, dropped.key)
        return settled

    def _placed(self, session: Session, current: MenuDefinition) -> tuple[Session, MenuDefinition]:
        """A dropped session with the definition it started on (kept across reloads) if held
        here; one dropped inside a service of this directory, with that service's."""
        if session.service != current.service:
            current = self.menus.definitions.get(session.service) or current
        return self.navigator.placed(session, current)

    def _resume_prompt(
        self, dropped: Session | None, definition: MenuDefinition, language: str
    ) -> str:
        """The offer to continue, naming the service the dropped journey was in (a citizen
        behind a directory may have several on the go); the unnamed text when the title would
        not fit one screen with the hint a wrong entry adds."""
        if dropped is not None:
            _, on = self._placed(dropped, definition)
            title = on.title.get(language) or on.title.get(on.default_language) or ""
            if title:
                named = self.settings.text("resume_named", language).replace("{service}", title)
                hint = definition.message("invalid_choice", language)
                if fits_ussd(f"{hint}\n{named}"):
                    return named
        return self.settings.text("resume", language)

    async def _answer_resume(
        self, session: Session, definition: MenuDefinition, entry: str
    ) -> HopResult:
        entry = entry.strip()
        if entry == RESUME:
            dropped = await self.store.resumable(definition.service, session.phone)
            if dropped is not None:
                dropped, on = self._placed(dropped, definition)
                if _can_resume(dropped, on):
                    restored = dropped.copy()
                    restored.key = session.key
                    restored.resume_from = None
                    restored.end_reason = ""
                    restored.language = session.language
                    restored.hops = session.hops + 1
                    restored.journey = dropped.journey or dropped.key
                    log.info("resumed %s from %s at %s", session.key, dropped.key, dropped.screen)
                    if restored.submitting:  # stored since the redial asked: its reference
                        settled = await self.engine.settle(on, restored)
                        if settled is not None:
                            return settled
                    return self.engine.show(on, restored)
        elif entry != RESTART:
            hint = definition.message("invalid_choice", session.language)
            dropped = await self.store.resumable(definition.service, session.phone)
            prompt = compose(hint, self._resume_prompt(dropped, definition, session.language))
            session = session.copy()
            session.hops += 1
            return HopResult(Reply(prompt, False), session)
        await self.store.forget_resumable(definition.service, session.phone)
        fresh = session.copy()
        fresh.resume_from = None
        return await self.engine.start(definition, fresh)


def _foreign(session: Session | None, stalled: UssdRequest | None, request: UssdRequest) -> bool:
    """A request from a number other than the one that opened the session: it is refused.

    An aggregator's session id names one call from one handset, so another number on a live id
    is a forged or misrouted request. Refused rather than started as a new session: a new one
    under that id would overwrite the first caller's journey (what they typed and chose, the
    screen their next hop continues), and one kept apart under another key would leave every
    later hop on that id to be told apart by number alone. The refusal reads nothing of the
    stored session to the caller and stores nothing; the first caller goes on as if it never
    came. Numbers are compared normalised (``+255…`` and a local ``0…`` spelling are one line).
    """
    owner = session.phone if session is not None else stalled.phone if stalled else ""
    return bool(owner) and not same_number(owner, request.phone)


def _swallow(tx: Transaction, request: UssdRequest) -> None:
    """The entry that answered "still working" (``request``, replayed in its place) counts as
    consumed: in cumulative text it stays in front of every later entry, which would otherwise
    read as one entry with it ("1*1" on a menu)."""
    session = tx.session
    if session is None or not request.cumulative or request.text == session.consumed:
        return
    if not request.text.startswith(session.consumed + "*"):
        return  # not a continuation of this session's text: nothing to swallow
    swallowed = tx.session = session.copy()
    swallowed.consumed = request.text


def _resumed(dropped: Session, into: Session) -> Session:
    """``dropped``'s journey carried on in the session ``into`` (a redial)."""
    restored = dropped.copy()
    restored.key = into.key
    restored.resume_from = None
    restored.end_reason = ""
    restored.language = into.language
    restored.hops = into.hops
    restored.journey = dropped.journey or dropped.key
    return restored


def _can_resume(dropped: Session, definition: MenuDefinition) -> bool:
    """A dropped journey worth offering back: part-way through a screen that still waits for
    the citizen, on the version it started on."""
    screen = definition.screens.get(dropped.screen)
    return (
        dropped.in_journey
        and dropped.screen != definition.start
        and screen is not None
        and screen.interactive
        and not screen.ends
        and dropped.version == definition.version
    )
