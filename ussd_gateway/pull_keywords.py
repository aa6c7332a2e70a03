"""Pull SMS to the government short code: ``<KEYWORD> <SUB-KEYWORD> <PARAMETER>`` to a service.

Each service declares its keywords in its own menu file (``keywords:``, see
``engine/keywords.py``); this module only resolves a text against the loaded services. It is
pure (no I/O), so the inbound SMS endpoint can call it on every message. ``MREJESHO HALI
MREJ234Q`` resolves to (mrejesho, status, "MREJ234Q"); matching ignores case and extra spaces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ussd_gateway.engine.definition import Keyword, MenuDefinition


@dataclass(frozen=True, slots=True)
class PullRequest:
    """What an inbound text asks for: the service that owns its keyword, the action and the rest."""

    service: str
    keyword: str
    """The keyword as declared (upper case), e.g. ``MREJESHO``."""
    action: str
    """The sub-keyword's action name (``status``), the keyword's default, or "" when neither."""
    parameter: str
    """Everything after the keyword and sub-keyword, single-spaced (``MREJ234Q``)."""


class KeywordResolver:
    """Keyword -> (service, declaration), built once per set of loaded services."""

    def __init__(
        self, definitions: Mapping[str, MenuDefinition] | Iterable[MenuDefinition]
    ) -> None:
        items = definitions.values() if isinstance(definitions, Mapping) else definitions
        self._table: dict[str, tuple[str, Keyword]] = {}
        for definition in items:
            for keyword in definition.keywords:
                for word in keyword.words:
                    # the validator rejects a keyword of two services; first wins if it slipped in
                    self._table.setdefault(word, (definition.service, keyword))

    @property
    def keywords(self) -> dict[str, str]:
        """Every keyword and the service that owns it."""
        return {word: service for word, (service, _) in self._table.items()}

    def resolve(self, text: str) -> PullRequest | None:
        """The request in ``text``, or None when its first word is no service's keyword."""
        words = text.split()
        if not words:
            return None
        found = self._table.get(words[0].upper())
        if found is None:
            return None
        service, keyword = found
        rest = words[1:]
        action = keyword.subs.get(rest[0].upper()) if rest else None
        if action is not None:
            rest = rest[1:]
        return PullRequest(
            service=service,
            keyword=words[0].upper(),
            action=action or keyword.default,
            parameter=" ".join(rest),
        )


def resolve(definitions: Mapping[str, MenuDefinition], text: str) -> PullRequest | None:
    """One-off resolution (builds the table each call: keep a ``KeywordResolver`` when serving)."""
    return KeywordResolver(definitions).resolve(text)
