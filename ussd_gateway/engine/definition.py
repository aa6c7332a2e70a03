"""The immutable, validated form of a menu file: what every hop of every session reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ussd_gateway.config.settings import NavigationKeys
from ussd_gateway.engine.text import LocalizedText

if TYPE_CHECKING:
    from ussd_gateway.engine.screens.base import Screen


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a menu file, printed as ``file:line: screen: message``."""

    file: str
    screen: str
    message: str
    line: int | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {self.screen}: {prefix}{self.message}"


class DefinitionError(Exception):
    """A menu file cannot be served; ``problems`` says every reason, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class Keyword:
    """A pull SMS keyword of a service: its words (one per language) and its sub-keywords."""

    words: tuple[str, ...]
    """Upper case, e.g. ``("MREJESHO", "FEEDBACK")``."""
    subs: Mapping[str, str]
    """Sub-keyword (upper case, every language) -> action name, e.g. ``HALI -> status``."""
    default: str = ""
    """Action when the text has no (known) sub-keyword; empty: such a text is not understood."""
    line: int | None = None
    languages: Mapping[str, str] = field(default_factory=dict)
    """The language of each word and sub-word declared per language (``HALI -> sw``): the
    language an SMS reply is written in."""


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    id: str
    label: Mapping[str, str]
    name: Mapping[str, str]

    def label_in(self, language: str, default: str) -> str:
        return (
            self.label.get(language) or self.label.get(default) or next(iter(self.label.values()))
        )

    def name_in(self, language: str, default: str) -> str:
        return self.name.get(language) or self.name.get(default) or self.label_in(language, default)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """A long list shipped as data (e.g. institutions), shown by ``list`` screens."""

    name: str
    items: tuple[CatalogueItem, ...]


@dataclass(frozen=True, slots=True)
class MenuDefinition:
    """A service: parsed once, never mutated, shared by every session that runs on it."""

    service: str
    languages: tuple[str, ...]
    start: str
    screens: Mapping[str, Screen]
    messages: Mapping[str, LocalizedText]
    navigation: NavigationKeys
    source: str = ""
    version: str = ""
    """Content hash, so a session can tell which definition it started on."""
    codes: tuple[str, ...] = ()
    title: Mapping[str, str] = field(default_factory=dict)
    owner: Mapping[str, Any] = field(default_factory=dict)
    backend: str = ""
    """The backend the service's submissions go to unless a ``submit`` screen names another."""
    keywords: tuple[Keyword, ...] = ()
    """Pull SMS keywords this service answers (``MREJESHO HALI <ref>``)."""
    key_lines: Mapping[str, int] = field(default_factory=dict)
    """Line of each top-level key of the file (e.g. ``codes``), for problems found later."""
    text_lines: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Per screen, the line of its ``text`` in each language: where an over-long screen is fixed."""
    nudge_after: float = 0.0
    """Seconds after a journey dropped before one SMS tells the citizen how to continue it
    (``nudge: {after: 60}``); 0: never (the default)."""

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def message(self, key: str, language: str, **params: Any) -> str:
        text = self.messages[key].render(language, {})
        if not params:
            return text
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text

    @staticmethod
    def freeze(screens: dict[str, Screen]) -> Mapping[str, Screen]:
        return MappingProxyType(dict(screens))
