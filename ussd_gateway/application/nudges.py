"""One SMS after a dropped call: "Piga *152*00# kuendelea ulipoishia".

A drop is mostly silent (the aggregator sends no end notice), so the journeys are found by a
periodic sweep over the session store's index of journeys in progress, by when they last
moved (``SessionStore.dropped``), rather than by waiting for a notice. The sweep runs in every
web process: each journey is claimed by exactly one of them (a sorted-set ``ZREM`` on Redis; the
process itself with the in-memory store), and the outbox's unique ``purpose``
(``nudge:<journey>``) makes a second enqueue a no-op anyway, so the citizen gets it once.

Nothing the citizen typed goes in the text: the nudge names only the code to dial. A journey
in which the citizen already chose to stay anonymous, a number that sent ACHA/STOP, a journey
past the resume window (it could no longer be continued) or in a service without ``nudge:`` in
its menu file gets none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from ussd_gateway.adapters.outbox.sms import SmsOutbox, international
from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.config.settings import Settings
from ussd_gateway.domain.outgoing import OutgoingSms
from ussd_gateway.domain.privacy import mask_phone
from ussd_gateway.domain.session import Session, SessionStatus
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.ports.sessions import SessionStore, StoreUnavailable

log = logging.getLogger(__name__)


def purpose(session: Session) -> str:
    """One nudge per journey: a resumed journey keeps the key it began under."""
    return f"nudge:{session.journey or session.key}"


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "ndiyo"}
    return bool(value)


def chose_anonymity(session: Session, definition: MenuDefinition) -> bool:
    """The citizen already said "don't use my name" in this journey: not even a nudge."""
    for screen in definition.screens.values():
        variable = getattr(screen, "anonymous", "")
        if variable and _truthy(session.vars.get(variable)):
            return True
    return False


class Nudger:
    """Finds journeys that dropped ``nudge.after`` seconds ago and queues their SMS."""

    def __init__(
        self,
        *,
        store: SessionStore,
        menus: MenuRegistry,
        settings: Settings,
        outbox: SmsOutbox,
        clock: Callable[[], float],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.menus = menus
        self.settings = settings
        self.outbox = outbox
        self.clock = clock
        """Wall-clock seconds, the scale of the sessions' ``updated_at``."""
        self.wake = wake

    async def sweep(self) -> int:
        """One pass over every service that nudges; how many SMS were queued."""
        queued = 0
        for definition in list(self.menus.definitions.values()):
            if definition.nudge_after > 0:
                queued += await self._sweep(definition)
        if queued:
            self.wake()
        return queued

    async def _sweep(self, definition: MenuDefinition) -> int:
        now = self.clock()
        claimed = await self.store.dropped(definition.service, now - definition.nudge_after)
        messages = []
        for dropped in claimed:
            message = await self._message(dropped, definition, now)
            if message is not None:
                messages.append(message)
        if messages:
            await self.outbox.enqueue(*messages)
            for message in messages:
                log.info("nudge queued for %s (%s)", mask_phone(message.phone), message.purpose)
        return len(messages)

    async def _message(
        self, dropped: Session, definition: MenuDefinition, now: float
    ) -> OutgoingSms | None:
        if (
            dropped.service != definition.service  # the number's copy moved to another service
            or dropped.status is not SessionStatus.ACTIVE
            or not dropped.in_journey
            or not dropped.phone
            or now - dropped.updated_at < definition.nudge_after  # it moved again since
            or now - dropped.updated_at >= self.store.resume_window  # no longer offered back
            or chose_anonymity(dropped, definition)
        ):
            return None
        code = self._code(dropped)
        if not code or await self.outbox.opted_out(dropped.phone):
            return None
        language = dropped.language
        text = self.settings.sms.text("nudge", language, code=code)
        return OutgoingSms(purpose(dropped), international(dropped.phone), language, text)

    def _code(self, dropped: Session) -> str:
        """The code whose dial offers the journey back: the directory's it came through."""
        scope = dropped.directory or dropped.service
        codes: Mapping[str, str] = self.settings.service_codes
        for code, name in codes.items():
            if name == scope:
                return code
        definition = self.menus.definitions.get(dropped.service)
        return definition.codes[0] if definition is not None and definition.codes else ""


async def sweep_every(nudger: Nudger, interval: float, stop: asyncio.Event) -> None:
    """``sweep`` every ``interval`` seconds until ``stop``; an outage is logged and waited out."""
    while not stop.is_set():
        try:
            await nudger.sweep()
        except (StoreUnavailable, OSError) as exc:
            log.warning("nudge sweep skipped: %s", exc)
        except Exception:
            log.exception("nudge sweep failed")
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
