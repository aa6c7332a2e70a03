"""One aggregator request in, one screen out: session lock, retries, resume, then the engine.

This is where the rules of the field live (providers retry, calls drop, Redis can die); the
engine below stays a pure state machine and the providers above stay format adapters.
"""

from __future__ import annotations

import logging
import time

from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.runner import Engine, HopResult, Reply, compose
from ussd_gateway.engine.session import Session, SessionStatus
from ussd_gateway.menu_registry import MenuRegistry, hop_on_version
from ussd_gateway.privacy import mask_phone
from ussd_gateway.providers.base import UssdReply, UssdRequest
from ussd_gateway.routing import ServiceRouter
from ussd_gateway.sessions.base import SessionStore, StoreUnavailable
from ussd_gateway.settings import Settings

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

    async def handle(self, request: UssdRequest) -> UssdReply:
        started = time.perf_counter()
        route = self.router.resolve(request.service_code)
        if route is None:
            log.info(
                "unknown service code %s from %s", request.service_code, mask_phone(request.phone)
            )
            return UssdReply(self._bilingual("unknown_code"), True)
        key = f"{request.provider}:{request.session_id}"
        try:
            reply = await self._hop(key, request, route.definition, route.entries)
        except StoreUnavailable as exc:
            log.error("session store unavailable for %s: %s", key, exc)
            return UssdReply(self._bilingual("unavailable"), True)
        log.info(
            "hop %s %s %s end=%s %.1fms",
            key,
            route.definition.service,
            mask_phone(request.phone),
            reply.end,
            (time.perf_counter() - started) * 1000,
        )
        return reply

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
    ) -> UssdReply:
        async with self.store.transaction(key) as tx:
            session = tx.session
            if session is not None and session.service != definition.service:
                session = None  # an aggregator reused a session id for another code
            if session is None:
                result = await self._first(key, request, definition, entries)
            elif request.text == session.consumed and session.hops:
                # the aggregator retried a hop we already answered: same screen, no change
                return UssdReply(session.last_reply, session.last_end)
            elif session.status is not SessionStatus.ACTIVE:
                return UssdReply(session.last_reply, True)
            else:
                entry = newest_entry(session.consumed, request.text)
                if session.resume_from is not None:
                    result = await self._answer_resume(session, definition, entry)
                else:
                    result = await hop_on_version(
                        self.engine, self.router, session, definition, entry
                    )
            new = result.session
            new.consumed = request.text
            new.last_reply = result.reply.text
            new.last_end = result.reply.end
            new.updated_at = time.time()
            tx.session = new
            if result.language_changed:
                await self.store.remember_language(request.phone, result.language_changed)
            return UssdReply(result.reply.text, result.reply.end)

    async def _first(
        self,
        key: str,
        request: UssdRequest,
        definition: MenuDefinition,
        entries: tuple[str, ...],
    ) -> HopResult:
        """A new session: offer a dropped journey back, or start (walking an extended code)."""
        language = await self.store.language(request.phone)
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
            dropped = await self.store.resumable(definition.service, request.phone)
            if dropped is not None and self._can_resume(*self._placed(dropped, definition)):
                session.resume_from = dropped.key
                session.hops = 1
                return HopResult(Reply(self.settings.text("resume", language), False), session)
        result = await self.engine.start(definition, session)
        for entry in typed:
            if result.reply.end:
                break
            result = await self.engine.hop(definition, result.session, entry)
        return result

    def _placed(self, session: Session, current: MenuDefinition) -> tuple[Session, MenuDefinition]:
        """The session with the definition it started on (kept across reloads) if held here."""
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
