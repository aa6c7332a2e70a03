"""Where one entry takes a session: within its service, into or out of a directory, and onto
the version of its menu it started on.

The runner (``Engine``) applies an entry to one definition. A session can reach more than one:
a directory (``*152*00#``) lists services, a service entered from it leads back with the
directory key (``000``) or the back key on its first screen, and a reload may have replaced the
definition a session started on. ``Navigator`` decides which definition an entry meets and moves
the session between them; ``Menus`` (the menu registry above) says which definitions exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from ussd_gateway.domain.session import Session, SessionStatus
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.directory import START, DirectoryScreen, Mount
from ussd_gateway.engine.runner import Engine, HopResult, Reply, compose
from ussd_gateway.engine.search import SEARCH_VAR
from ussd_gateway.ports.apps import AppHop, AppUnavailable, MountedApps

log = logging.getLogger(__name__)

UPDATED: Mapping[str, str] = {
    "sw": "Huduma imesasishwa.",
    "en": "The service was updated.",
}
"""Said above the screen when a session had to move to a newer version of its menu."""

FREE_TEXT_SCREENS = frozenset({"input"})
"""Screens whose entry means the same whatever their text: the entry survives a version move.
On any other screen the entry is a choice among what the citizen saw, which may have changed."""

MAX_PIECES = 32
"""A cumulative text walked without a session is read for a free-text answer only when this
many pieces or fewer are left: every reading is a dry run of the rest, so the work per hop stays
bounded (a few hundred screen checks) whatever an aggregator sends. Past it: typed again."""

APP_SCREEN = "app"
"""The screen a session is on while a mounted app answers its hops."""

APP_TEXT = "_app"
"""Session variable: what the citizen typed in a mounted app, entry by entry (the app gets it
joined with ``*``, Africa's Talking's cumulative ``text``)."""

APP_SHOWN = "_app_screen"
"""Session variable: the app's last screen, shown again under a hint when it fails."""

Unavailable = Callable[[str], str]
"""The "service unavailable" hint in a language."""


class Menus(Protocol):
    """The definitions a process serves now, and older versions it still holds."""

    @property
    def definitions(self) -> Mapping[str, MenuDefinition]:
        """Current definitions by service (and directory) name."""
        ...

    def definition(self, service: str, version: str) -> MenuDefinition | None:
        """``service`` at ``version``, if still held."""
        ...


def updated_notice(definition: MenuDefinition, language: str) -> str:
    return UPDATED.get(language) or UPDATED.get(definition.default_language) or UPDATED["en"]


class Navigator:
    """Moves sessions between the definitions of ``menus``; holds no per-session state."""

    def __init__(self, engine: Engine, menus: Menus, apps: MountedApps | None = None) -> None:
        self.engine = engine
        self.menus = menus
        self.apps = apps

    async def step(
        self, dialled: MenuDefinition, session: Session, entry: str, unavailable: Unavailable
    ) -> HopResult:
        """One entry on the service the session is in (through a directory: maybe not the one
        dialled); the directory key and a directory's choice move the session."""
        if not session.directory:
            current: MenuDefinition | None = dialled
        else:
            current = self.menus.definitions.get(session.service)
            if entry.strip() == dialled.navigation.directory:
                return await self.leave(dialled, session)
            mount = mounted(dialled, session.service)
            if mount is not None and is_app_session(session):
                return await self.forward(dialled, mount, session, entry, unavailable)
            if current is None:  # disabled by a reload since it was entered
                current = self.menus.definition(session.service, session.version)
                if current is None:
                    return await self.leave(dialled, session, unavailable(session.language))
            if entry.strip() == dialled.navigation.back and backs_out(session, current):
                return await self.leave(dialled, session, back=True)
        result = await self.on_version(session, current, entry)
        if result.enter is None:
            return result
        mount = mounted(dialled, result.enter)
        if mount is not None:
            log.info("%s enters app %s from %s", session.key, result.enter, dialled.service)
            return await self.enter_app(dialled, result.enter, mount, result.session, unavailable)
        service = self.menus.definitions.get(result.enter)
        if service is None:  # disabled since the directory was drawn
            return await self.leave(dialled, result.session, unavailable(session.language))
        log.info("%s enters %s from %s", session.key, service.service, dialled.service)
        return await self.enter(dialled, service, result.session)

    async def reading(
        self, dialled: MenuDefinition, session: Session, pieces: Sequence[str]
    ) -> int | None:
        """How many of ``pieces`` (a cumulative text split at every ``*``) the free-text screen
        the session is on takes as its one answer, or None when that cannot be told.

        A message may itself contain ``*``; without a session that knows where the message
        began and ended, the answer is the first 1, 2, … pieces joined, and the rest must then
        be a path the citizen could have typed (``Engine.plausible``). Exactly one such reading
        is taken; with none or several, any choice could store a message cut in two, so the
        caller stops on this screen. One piece, or a screen that is not free text: 1.
        """
        current = self._current(dialled, session)
        if current is None or len(pieces) < 2:
            return 1
        placed, definition = self.placed(session, current)
        screen = definition.screens.get(placed.screen)
        if screen is None or screen.type_name not in FREE_TEXT_SCREENS:
            return 1
        if len(pieces) > MAX_PIECES:  # each reading is a dry run of the rest: bounded work
            return None
        found: int | None = None
        for taken in range(1, len(pieces) + 1):
            rest = ["*".join(pieces[:taken]), *pieces[taken:]]
            if await self.engine.plausible(definition, placed, rest):
                if found is not None:
                    return None
                found = taken
        return found

    def _current(self, dialled: MenuDefinition, session: Session) -> MenuDefinition | None:
        """The definition the session's screen belongs to (a service entered from a directory:
        that service's), if held."""
        if not session.directory:
            return dialled
        return self.menus.definitions.get(session.service) or self.menus.definition(
            session.service, session.version
        )

    async def settle(self, dialled: MenuDefinition, session: Session) -> HopResult | None:
        """``Engine.settle`` on the definition the session is in (through a directory, on its
        own version); None when there is none or the submission is not found stored."""
        current = dialled
        if session.directory:
            found = self.menus.definitions.get(session.service) or self.menus.definition(
                session.service, session.version
            )
            if found is None:
                return None
            current = found
        placed, definition = self.placed(session, current)
        return await self.engine.settle(definition, placed)

    def placed(self, session: Session, current: MenuDefinition) -> tuple[Session, MenuDefinition]:
        """The session and the definition to run it on: its own version when held here, else
        ``current`` with the session moved to it (check its screen still exists there)."""
        if session.version == current.version:
            return session, current
        own = self.menus.definition(session.service, session.version)
        if own is not None:
            return session, own
        moved = session.copy()
        moved.version = current.version
        log.info(
            "%s: %s version %s not held here; moving to %s",
            session.key,
            session.service,
            session.version or "-",
            current.version,
        )
        return moved, current

    async def on_version(self, session: Session, current: MenuDefinition, entry: str) -> HopResult:
        """One hop on the definition the session started on, or the least surprising fallback.

        Without that definition: on a free-text screen that still exists the entry is applied
        on the current version (a typed message is never lost); on another screen that still
        exists the citizen sees it again, as it now is, with a one-line notice, since a number
        chosen from the old text may mean something else now; when the screen is gone, the
        service starts again with the notice.
        """
        placed, definition = self.placed(session, current)
        if placed is session:
            return await self.engine.hop(definition, session, entry)
        notice = updated_notice(definition, session.language)
        screen = definition.screens.get(placed.screen)
        if screen is not None and screen.interactive and not screen.ends:
            if screen.type_name in FREE_TEXT_SCREENS:
                return await self.engine.hop(definition, placed, entry)
            placed.hops += 1
            placed.page = 0
            result = self.engine.show(definition, placed)
        else:
            result = await self.engine.start(definition, placed)
        result.reply = Reply(compose(notice, result.reply.text), result.reply.end)
        return result

    async def enter(
        self, directory: MenuDefinition, service: MenuDefinition, session: Session
    ) -> HopResult:
        """Start ``service`` for a session on ``directory``: its own variables only, from empty."""
        moved = session.copy()
        moved.service = service.service
        moved.version = service.version
        moved.directory = directory.service
        moved.vars = {}
        moved.history.clear()
        moved.page = 0
        moved.hops -= 1  # the directory's hop and the service's first screen are one hop
        if moved.language not in service.languages:
            moved.language = service.default_language
        return await self.engine.start(service, moved)

    async def enter_app(
        self,
        directory: MenuDefinition,
        name: str,
        mount: Mount,
        session: Session,
        unavailable: Unavailable,
    ) -> HopResult:
        """Start a mounted app: its first screen, from an empty ``text``."""
        moved = session.copy()
        moved.service = name
        moved.version = ""
        moved.directory = directory.service
        moved.vars = {APP_TEXT: []}
        moved.history.clear()
        moved.page = 0
        moved.screen = APP_SCREEN
        result = await self._relay(mount, moved, "")
        if result is None:
            return await self.leave(directory, session, unavailable(session.language))
        return result

    async def forward(
        self,
        directory: MenuDefinition,
        mount: Mount,
        session: Session,
        entry: str,
        unavailable: Unavailable,
    ) -> HopResult:
        """One entry typed in a mounted app, relayed; when the app fails, its last screen again
        under the ``unavailable`` hint, the entry not counted (typing it again retries)."""
        s = session.copy()
        s.hops += 1
        typed = [str(piece) for piece in s.vars.get(APP_TEXT) or []]
        result = await self._relay(mount, s, "*".join([*typed, entry]), [*typed, entry])
        if result is not None:
            return result
        shown = str(s.vars.get(APP_SHOWN) or "")
        return HopResult(Reply(compose(unavailable(s.language), shown), False), s)

    async def _relay(
        self, mount: Mount, session: Session, text: str, typed: list[str] | None = None
    ) -> HopResult | None:
        """The app's screen for ``text`` as this hop's reply, or None when it gave none."""
        if self.apps is None:
            return None
        hop = AppHop(
            url=mount.url,
            session_id=session.key.split(":", 1)[-1],
            phone=session.phone,
            service_code=mount.service_code,
            text=text,
            timeout=mount.timeout,
        )
        try:
            screen = await self.apps.hop(hop)
        except AppUnavailable:
            return None
        session.vars[APP_TEXT] = typed or []
        session.vars[APP_SHOWN] = screen.text
        if screen.end:
            session.status = SessionStatus.COMPLETED
        result = HopResult(Reply(screen.text, screen.end), session)
        result.events.append(("app", session.service))
        return result

    async def leave(
        self,
        directory: MenuDefinition,
        session: Session,
        hint: str | None = None,
        *,
        back: bool = False,
    ) -> HopResult:
        """Back to the directory: the service's variables stay behind with it.

        ``back``: the back key left the service, so the directory shows the page listing it
        (the page it was chosen on); the directory key (``000``) shows the first page, like
        home."""
        moved = session.copy()
        moved.service = directory.service
        moved.version = directory.version
        moved.directory = ""
        moved.vars = {}
        if moved.language not in directory.languages:
            moved.language = directory.default_language
        result = await self.engine.start(directory, moved)
        page = listed_page(directory, session.service, moved.language) if back else 0
        if page:
            turned = result.session.copy()
            turned.page = page
            shown = self.engine.show(directory, turned)
            result.reply, result.session = shown.reply, shown.session
        if hint:
            result.reply = Reply(compose(hint, result.reply.text), result.reply.end)
        return result


def backs_out(session: Session, service: MenuDefinition) -> bool:
    """The back key on a service's start screen, with no earlier screen or page in it: in a
    session that came through a directory it leads back there (elsewhere it is a wrong entry).
    """
    return (
        bool(session.directory)
        and session.screen == service.start
        and session.page == 0
        and not session.history
        and SEARCH_VAR not in session.vars  # the back key first leaves the search results
    )


def is_app_session(session: Session) -> bool:
    """A session in a mounted app: on its one screen, with no menu version of its own."""
    return session.screen == APP_SCREEN and not session.version


def mounted(directory: MenuDefinition, service: str) -> Mount | None:
    """The mounted app ``service`` names in ``directory``, if it is one."""
    screen = directory.screens.get(START)
    return screen.mount(service) if isinstance(screen, DirectoryScreen) else None


def listed_page(directory: MenuDefinition, service: str, language: str) -> int:
    """The directory page (0-based) that lists ``service`` in ``language``: where it was chosen."""
    screen = directory.screens.get(START)
    return screen.page_listing(service, language) if isinstance(screen, DirectoryScreen) else 0
