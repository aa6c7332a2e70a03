"""One hop of the state machine: (definition, session, entry) -> (reply, session')."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ussd_gateway.domain.gsm import fits_ussd
from ussd_gateway.domain.session import Session, SessionStatus
from ussd_gateway.engine import echo
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.screens.base import (
    Enter,
    Fail,
    Go,
    Outcome,
    Retry,
    Screen,
    Stay,
    Turn,
)
from ussd_gateway.engine.screens.end import EndScreen
from ussd_gateway.engine.screens.router import RouterScreen
from ussd_gateway.engine.screens.submit import SubmitScreen
from ussd_gateway.engine.search import SEARCH_VAR
from ussd_gateway.ports.fetch import Fetcher
from ussd_gateway.ports.submissions import EnginePorts

MAX_AUTOMATIC_STEPS = 25
"""Routers and actions chained longer than this are a loop in the menu, not a journey."""


def compose(hint: str | None, text: str) -> str:
    """Put a hint above a screen; when both would not fit, the hint replaces the first line.

    Long lists are packed to the limit, so their title gives way to the hint rather than the
    list losing an item or the screen overflowing.
    """
    if not hint:
        return text
    combined = f"{hint}\n{text}"
    if fits_ussd(combined):
        return combined
    rest = text.split("\n", 1)
    return f"{hint}\n{rest[1]}" if len(rest) == 2 else hint


def typed_variables(definition: MenuDefinition) -> list[str]:
    """Variables holding what the citizen typed or a backend answered: a screen may cut them."""
    return [
        name
        for screen in definition.screens.values()
        if screen.type_name in TYPED_BY_OTHERS
        for name in screen.sets()
    ]


TYPED_BY_OTHERS = frozenset({"input", "fetch"})
"""Screens whose values come from outside the menu (the citizen, a backend): cut to fit."""


def fit(ctx: HopContext, screen: Screen, hint: str | None) -> str:
    """A screen over the limit drawn again with what the citizen typed cut to fit."""

    def render(cuts: Mapping[str, int]) -> str:
        ctx.cuts = cuts
        try:
            return compose(hint, screen.render(ctx))
        finally:
            ctx.cuts = {}

    return echo.cuts_to_fit(render, ctx.session.vars, typed_variables(ctx.definition))


def stay_here(session: Session, stay: Stay) -> None:
    """Apply a ``Stay``: its variables changed, the screen shown from its first page."""
    for name, value in stay.set.items():
        if value is None:
            session.vars.pop(name, None)
        else:
            session.vars[name] = value
    session.page = 0


def arrive(session: Session) -> None:
    """A screen reached by going forward (or home) starts afresh: a search typed on another
    screen, or on this one before it was left, no longer applies."""
    session.vars.pop(SEARCH_VAR, None)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    end: bool


@dataclass(slots=True)
class HopContext:
    """What a screen may read while it renders or handles an entry."""

    definition: MenuDefinition
    session: Session
    ports: EnginePorts | None = None
    lookup_timeout: float = 0.8
    submit_timeout: float = 5.0
    fetcher: Fetcher | None = None
    fetch_timeout: float = 1.5
    """Seconds a ``fetch`` screen may wait for its backend (inside the hop's deadline)."""
    cuts: Mapping[str, int] = field(default_factory=dict)
    """Echoed values cut to these lengths so the screen fits (``echo.cuts_to_fit``)."""

    @property
    def language(self) -> str:
        return self.session.language

    @property
    def variables(self) -> Mapping[str, Any]:
        """The session's values as stored: for conditions, payloads and SMS."""
        return {**self.session.vars, "language": self.session.language}

    @property
    def shown(self) -> Mapping[str, Any]:
        """The session's values as a screen shows them (``echo``): GSM-7 look-alikes, cut."""
        cuts = self.cuts
        shown = {
            name: echo.shown(value, cuts.get(name)) for name, value in self.session.vars.items()
        }
        shown["language"] = self.session.language
        return shown

    @property
    def is_start(self) -> bool:
        return self.session.screen == self.definition.start

    def message(self, key: str, **params: Any) -> str:
        return self.definition.message(key, self.session.language, **params)

    def footer(self, *, more: bool = False, back: bool = True) -> str:
        """The navigation line under a screen: more (98), back (0) and home (00).

        A start screen shows back only in a service entered through a directory: there the
        back key leads out to the directory (see ``hops``)."""
        first = self.is_start and self.session.page == 0
        return self.definition.navigation.footer(
            self.message,
            more=more,
            back=back and (not first or bool(self.session.directory)),
            home=not self.is_start,
        )


@dataclass(slots=True)
class HopResult:
    reply: Reply
    session: Session
    language_changed: str | None = None
    events: list[tuple[str, Any]] = field(default_factory=list)
    enter: str | None = None
    """A service chosen in a directory: the reply is empty until the hop layer enters it."""


class Engine:
    """Runs hops; holds no per-session state, so one instance serves every session."""

    def __init__(
        self,
        *,
        ports: EnginePorts | None = None,
        lookup_timeout: float = 0.8,
        submit_timeout: float = 5.0,
        fetcher: Fetcher | None = None,
        fetch_timeout: float = 1.5,
    ) -> None:
        self.ports = ports
        self.lookup_timeout = lookup_timeout
        self.submit_timeout = submit_timeout
        self.fetcher = fetcher
        self.fetch_timeout = fetch_timeout

    def _context(self, definition: MenuDefinition, session: Session) -> HopContext:
        return HopContext(
            definition,
            session,
            self.ports,
            self.lookup_timeout,
            self.submit_timeout,
            self.fetcher,
            self.fetch_timeout,
        )

    async def start(self, definition: MenuDefinition, session: Session) -> HopResult:
        """First screen of a new session."""
        s = session.copy()
        s.hops += 1
        s.history.clear()
        s.page = 0
        s.screen = definition.start
        result = HopResult(Reply("", False), s)
        return await self._advance(self._context(definition, s), definition.start, result, None)

    def show(self, definition: MenuDefinition, session: Session) -> HopResult:
        """The screen a session is on, again (e.g. when a dropped journey is resumed)."""
        s = session.copy()
        screen = definition.screens.get(s.screen)
        if screen is None or not screen.interactive:
            s.screen = definition.start
            s.history.clear()
        return self._show(self._context(definition, s), HopResult(Reply("", False), s))

    async def settle(self, definition: MenuDefinition, session: Session) -> HopResult | None:
        """The screen after a submission the session left unconfirmed (``submitting``), once
        found stored; None while it is not (the hop then goes on as usual)."""
        screen = definition.screens.get(session.submitting)
        if not isinstance(screen, SubmitScreen):
            return None
        s = session.copy()
        s.hops += 1
        ctx = self._context(definition, s)
        outcome = await screen.settle(ctx)
        if outcome is None:
            return None
        result = HopResult(Reply("", False), s)
        origin = s.copy()
        self._set(ctx, outcome, result)
        result.events.append((screen.type_name, screen.id))
        s.history.append(s.screen)
        return await self._advance(ctx, outcome.next, result, origin)

    async def hop(self, definition: MenuDefinition, session: Session, entry: str) -> HopResult:
        """Apply one entry of the citizen to the screen they are on."""
        s = session.copy()
        s.hops += 1
        ctx = self._context(definition, s)
        result = HopResult(Reply("", False), s)
        screen = definition.screens.get(s.screen)
        if screen is None or not screen.interactive or screen.ends:
            # the definition changed under the session, or the session already ended: start over
            return await self.start(definition, session)
        entry = entry.strip()
        nav = definition.navigation
        if entry == nav.home and not ctx.is_start:
            s.history.clear()
            s.page = 0
            return await self._advance(ctx, definition.start, result, None)
        if entry == nav.back and s.page == 0 and (stay := screen.back(ctx)) is not None:
            return await self._apply(ctx, screen, stay, result)
        if entry == nav.back and (s.page > 0 or s.history):
            if s.page > 0:
                s.page -= 1
            else:
                s.screen = s.history.pop()
                s.page = 0
            return self._show(ctx, result)
        outcome = screen.handle(ctx, entry)
        return await self._apply(ctx, screen, outcome, result)

    async def plausible(
        self, definition: MenuDefinition, session: Session, entries: Sequence[str]
    ) -> bool:
        """Whether a citizen on the session's screen could have typed ``entries`` one after the
        other with each accepted (no hint shown, nothing typed after an end screen).

        A dry run that changes nothing: only pure screens are followed (routers). Past a screen
        that acts on the world (submit, lookup) or leaves this definition (a directory's
        choice), nothing is known, and the entries are taken as plausible: this answers "can
        this reading be ruled out?", so it never rules out one it cannot check.
        """
        s = session.copy()
        ctx = HopContext(definition, s)
        nav = definition.navigation
        for entry in entries:
            screen = definition.screens.get(s.screen)
            if screen is None or not screen.interactive or screen.ends:
                return False
            entry = entry.strip()
            if entry == nav.back and s.page == 0 and (stay := screen.back(ctx)) is not None:
                stay_here(s, stay)
                continue
            if entry == nav.home and not ctx.is_start:
                s.history.clear()
                target = definition.start
            elif entry == nav.back and (s.page > 0 or s.history):
                s.page, s.screen = (s.page - 1, s.screen) if s.page else (0, s.history.pop())
                continue
            else:
                outcome = screen.handle(ctx, entry)
                if isinstance(outcome, Turn):
                    s.page += outcome.delta
                    continue
                if isinstance(outcome, Stay):
                    if outcome.hint:  # a search that found nothing
                        return False
                    stay_here(s, outcome)
                    continue
                if isinstance(outcome, Enter):
                    return True
                if not isinstance(outcome, Go):
                    return False
                s.vars.update(outcome.set)
                if outcome.language and outcome.language in definition.languages:
                    s.language = outcome.language
                s.history.append(screen.id)
                target = outcome.next
            for _ in range(MAX_AUTOMATIC_STEPS):
                s.screen, s.page = target, 0
                arrive(s)
                following = definition.screens[target]
                if following.interactive:
                    break
                if not isinstance(following, RouterScreen):
                    return True
                routed = await following.run(ctx)
                if not isinstance(routed, Go):
                    return True
                target = routed.next
            else:
                return True
        return True

    async def _apply(
        self, ctx: HopContext, screen: Screen, outcome: Outcome, result: HopResult
    ) -> HopResult:
        s = ctx.session
        if isinstance(outcome, Retry):
            if outcome.hint == "_custom":
                return self._show(ctx, result, str(outcome.params["text"]))
            return self._show(ctx, result, ctx.message(outcome.hint, **outcome.params))
        if isinstance(outcome, Turn):
            s.page += outcome.delta
            return self._show(ctx, result)
        if isinstance(outcome, Stay):
            stay_here(s, outcome)
            return self._show(ctx, result, outcome.hint)
        if isinstance(outcome, Fail):  # pragma: no cover - interactive screens never fail
            return self._show(ctx, result, ctx.message(outcome.hint))
        if isinstance(outcome, Enter):
            result.enter = outcome.service
            result.session = s
            return result
        origin = s.copy()
        self._set(ctx, outcome, result)
        s.history.append(screen.id)
        return await self._advance(ctx, outcome.next, result, origin)

    def _set(self, ctx: HopContext, outcome: Go, result: HopResult) -> None:
        ctx.session.vars.update(outcome.set)
        if outcome.language and outcome.language in ctx.definition.languages:
            ctx.session.language = outcome.language
            result.language_changed = outcome.language

    async def _advance(
        self, ctx: HopContext, target: str, result: HopResult, origin: Session | None
    ) -> HopResult:
        """Follow automatic screens until one the citizen can see."""
        s = ctx.session
        for _ in range(MAX_AUTOMATIC_STEPS):
            screen = ctx.definition.screens[target]
            s.screen = target
            s.page = 0
            arrive(s)
            if screen.interactive:
                if screen.ends:
                    s.status = SessionStatus.COMPLETED
                    if isinstance(screen, EndScreen) and screen.outcome == "cancelled":
                        s.end_reason = "cancelled"
                return self._show(ctx, result)
            outcome = await screen.run(ctx)
            if isinstance(outcome, Go):
                self._set(ctx, outcome, result)
                result.events.append((screen.type_name, screen.id))
                target = outcome.next
                continue
            hint = outcome.hint if isinstance(outcome, Fail | Retry) else "unavailable"
            if origin is None:
                s.status = SessionStatus.CANCELLED
                result.reply = Reply(ctx.message(hint), True)
                return result
            restored = origin.copy()
            restored.hops = s.hops
            if isinstance(outcome, Fail) and outcome.unsure:
                restored.submitting = screen.id
            ctx.session = result.session = restored
            return self._show(ctx, result, ctx.message(hint))
        raise RuntimeError(f"{ctx.definition.service}: more than {MAX_AUTOMATIC_STEPS} steps")

    def _show(self, ctx: HopContext, result: HopResult, hint: str | None = None) -> HopResult:
        screen = ctx.definition.screens[ctx.session.screen]
        text = compose(hint, screen.render(ctx))
        if not fits_ussd(text):
            text = fit(ctx, screen, hint)
        result.reply = Reply(text, screen.ends)
        result.session = ctx.session
        return result
