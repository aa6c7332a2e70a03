"""One keyword table for inbound SMS: the gateway's routes from configuration plus the
``<KEYWORD> <SUB-KEYWORD>`` routes each service declares in its own menu file.

A service's keyword becomes ordinary :class:`KeywordRoute`\\ s of the one
:class:`KeywordRouter`: ``MREJESHO HALI`` → ``status``, ``MREJESHO TOA`` and plain
``MREJESHO`` (its ``default``) → ``feedback``, all with ``{"service": "mrejesho"}`` so the
action stays inside that service. A service whose file is broken keeps its words, routed to
``unavailable``. Config and services must not claim the same first word: that is a problem
naming both places (start-up, ``validate`` and reloads refuse it), never a silent override.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ussd_gateway.application.sms.router import KeywordRouter
from ussd_gateway.config.settings import Settings
from ussd_gateway.config.sms import KeywordRoute
from ussd_gateway.engine.definition import Keyword, MenuDefinition, Problem

if TYPE_CHECKING:
    from ussd_gateway.application.menus.registry import MenuRegistry

log = logging.getLogger(__name__)

SERVICE_ACTIONS: Mapping[str, str] = {
    "give": "feedback",
    "status": "status",
    "register": "register",
    "help": "service_help",
}
"""A menu file's sub-keyword action (``engine/keywords.py`` ACTIONS) → ``sms.actions`` ACTIONS."""


def dial_code(
    service: str, definitions: Mapping[str, MenuDefinition], codes: Mapping[str, str]
) -> str | None:
    """The code a citizen dials for ``service``: its own, a configured one, or its number in a
    directory (``*152*00*2#``); None when it has none."""
    from ussd_gateway.engine.directory import START, DirectoryScreen

    definition = definitions.get(service)
    if definition is not None and definition.codes:
        return definition.codes[0]
    for code, name in codes.items():
        if name == service:
            return code
    for code, name in codes.items():
        screen = getattr(definitions.get(name), "screens", {}).get(START)
        if isinstance(screen, DirectoryScreen):
            for number, entry in enumerate(screen.entries, start=1):
                if entry.service == service:
                    return f"{code.rstrip('#')}*{number}#"
    return None


def keyword_routes(
    service: str,
    keywords: Iterable[Keyword],
    default_language: str,
    source: str,
    *,
    action: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[KeywordRoute]:
    """The routes of one service's keywords; ``action`` overrides every one (``unavailable``)."""
    routes: list[KeywordRoute] = []
    base = {"service": service, **(params or {})}
    for keyword in keywords:
        where = f"{source} keywords" + (f" (line {keyword.line})" if keyword.line else "")
        for word in keyword.words:
            language = keyword.languages.get(word, default_language)
            first = action or SERVICE_ACTIONS.get(keyword.default, "service_help")
            routes.append(KeywordRoute((word,), language, first, base, where))
            for sub, sub_action in keyword.subs.items():
                routes.append(
                    KeywordRoute(
                        (word, sub),
                        keyword.languages.get(sub, language),
                        action or SERVICE_ACTIONS[sub_action],
                        base,
                        where,
                    )
                )
    return routes


def build_keyword_router(
    config_routes: Iterable[KeywordRoute],
    definitions: Mapping[str, MenuDefinition],
    disabled: Mapping[str, Iterable[Keyword]] | None = None,
    codes: Mapping[str, str] | None = None,
) -> KeywordRouter:
    """The gateway's routes, then every served service's, then broken services' (unavailable).

    ``disabled``: a broken service's keywords (still declared in its file). Raises ValueError
    naming both sources when two claim one keyword.
    """
    router = KeywordRouter(config_routes)
    dialled = {name: dial_code(name, definitions, codes or {}) for name in definitions}
    for name in sorted(definitions, key=lambda n: (dialled[n] is None, dialled[n] or "", n)):
        definition = definitions[name]  # in the directory's order: so the help text lists them
        params = {"code": dialled[name]}
        for route in keyword_routes(
            name,
            definition.keywords,
            definition.default_language,
            definition.source,
            params=params,
        ):
            router.add(route)
    taken = {route.words[0] for route in router.routes}
    for name, keywords in sorted((disabled or {}).items()):
        if name not in definitions:
            for route in keyword_routes(name, keywords, "", name, action="unavailable"):
                if route.words[0] not in taken:  # a served service's word is never shadowed
                    with contextlib.suppress(ValueError):  # two broken files, one word
                        router.add(route)
    return router


def config_clashes(settings: Settings, definitions: Iterable[MenuDefinition]) -> list[Problem]:
    """A service keyword that is also the first word of a route in ``sms.keywords``."""
    configured = {route.words[0]: route for route in settings.sms.keywords}
    where = str(settings.config_path or "config/gateway.yaml")
    problems: list[Problem] = []
    for definition in definitions:
        for keyword in definition.keywords:
            for word in keyword.words:
                route = configured.get(word)
                if route is not None:
                    problems.append(
                        Problem(
                            definition.source,
                            "keywords",
                            f"SMS keyword {word} of service '{definition.service}' is also "
                            f"declared in {where} ({route.source or 'sms.keywords'}): "
                            "remove one of them",
                            keyword.line,
                        )
                    )
    return problems


class LiveKeywords:
    """The keyword router for the menus served now, rebuilt each time the registry publishes
    (``POST /admin/reload``, SIGHUP, a peer's reload), so no request sees a stale table."""

    def __init__(
        self, config_routes: Iterable[KeywordRoute], menus: MenuRegistry, codes: Mapping[str, str]
    ) -> None:
        self._config_routes = tuple(config_routes)
        self._menus = menus
        self._codes = dict(codes)
        self.router = self.build()
        menus.listeners.append(self.rebuild)

    def build(self) -> KeywordRouter:
        disabled = {name: d.keywords for name, d in self._menus.disabled.items()}
        return build_keyword_router(
            self._config_routes, self._menus.definitions, disabled, self._codes
        )

    def rebuild(self) -> None:
        try:
            self.router = self.build()
        except ValueError:  # load_services refuses clashes first; keep answering meanwhile
            log.exception("SMS keywords not rebuilt; the previous table stays")
