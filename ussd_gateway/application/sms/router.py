"""Keyword routing of inbound SMS: a table of routes, built from configuration.

A route is ``words → (action, language, params)``: ``MREJESHO`` → ``feedback`` in sw,
``STATUS`` → ``status`` in en. The longest route whose words start the message wins, so
``MREJESHO HALI <ref>`` (a two-word route) and ``MREJESHO <message>`` (one word) live side by
side; what follows the words is the action's argument.

Extension point: any source of routes calls :meth:`KeywordRouter.add` with a
:class:`~ussd_gateway.sms.config.KeywordRoute` naming an action in ``sms.actions.ACTIONS``
(and its parameters, e.g. ``{"service": "maji"}``), for instance per-service keywords declared
in menu files, or ``<KEYWORD> <SUB-KEYWORD>`` pairs. A new kind of action is a function added
to ``ACTIONS``. Nothing here changes for either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ussd_gateway.config.sms import KeywordRoute

_WORDS = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Match:
    route: KeywordRoute
    argument: str
    """The message after the route's words, stripped (``<ujumbe>``, ``<ref>``)."""


class KeywordRouter:
    """Matches a message's leading words (case-insensitive) against the routes."""

    def __init__(self, routes: Iterable[KeywordRoute] = ()) -> None:
        self._routes: dict[tuple[str, ...], KeywordRoute] = {}
        for route in routes:
            self.add(route)

    def add(self, route: KeywordRoute) -> None:
        """Add a route; two routes with the same words are a configuration mistake."""
        words = tuple(w.upper() for w in route.words)
        if words in self._routes:
            first = self._routes[words].source
            both = f" ({first} and {route.source})" if first or route.source else ""
            raise ValueError(f"SMS keyword {' '.join(words)!r} is declared twice{both}")
        self._routes[words] = route

    @property
    def routes(self) -> tuple[KeywordRoute, ...]:
        return tuple(self._routes.values())

    def match(self, text: str) -> Match | None:
        tokens = list(_WORDS.finditer(text))
        for length in range(len(tokens), 0, -1):
            words = tuple(t.group(0).upper().strip(".,:;!?") for t in tokens[:length])
            route = self._routes.get(words)
            if route is not None:
                return Match(route, text[tokens[length - 1].end() :].strip())
        return None

    def guess_language(self, text: str, default: str) -> str:
        """The language of the keyword the citizen probably meant (first three letters alike),
        for a help text they can read; ``default`` when nothing is alike."""
        first = next(iter(_WORDS.findall(text)), "").upper()
        if len(first) >= 3:
            for words, route in self._routes.items():
                if words[0][:3] == first[:3]:
                    return route.language
        return default
