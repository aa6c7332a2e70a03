"""What every screen type shares: its schema, how it parses, the screens it leads to, and hops.

One class per screen type holds all three (ussd_engine's lesson): validation, runtime and the
flow graph read the same definition, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.config.settings import NavigationKeys
from ussd_gateway.engine.definition import Catalogue, Problem
from ussd_gateway.engine.text import LocalizedText, Template
from ussd_gateway.engine.yaml_source import key_line, line_of

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext


# ---- outcomes of handling an entry or running an automatic screen ---------------------------


@dataclass(frozen=True, slots=True)
class Go:
    """Move on to ``next``, setting session variables on the way."""

    next: str
    set: Mapping[str, Any] = field(default_factory=dict)
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """The entry was wrong: show the same screen again with a short hint."""

    hint: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Turn:
    """Show another page of the same screen."""

    delta: int


@dataclass(frozen=True, slots=True)
class Stay:
    """Show the same screen again from its first page, with session variables changed (a
    value of None removes one): a list showing search results, or the full list again."""

    set: Mapping[str, Any] = field(default_factory=dict)
    hint: str | None = None
    """Shown above the screen, already rendered."""


@dataclass(frozen=True, slots=True)
class Fail:
    """An automatic screen could not do its job: return to the screen the citizen was on."""

    hint: str
    unsure: bool = False
    """Whether the job may still get done (a write that outlasted its timeout)."""


@dataclass(frozen=True, slots=True)
class Enter:
    """Leave this definition for another service (a directory's choice); the hop layer, which
    holds every definition, does the switch."""

    service: str


Outcome = Go | Retry | Turn | Stay | Fail | Enter


@dataclass(frozen=True, slots=True)
class Edge:
    """A way out of a screen, for validation and for drawing the flow."""

    target: str
    label: str = ""
    line: int | None = None
    """Where the way out is written, when not on the screen's first line (e.g. an option)."""


# ---- parsing ---------------------------------------------------------------------------------


@dataclass
class ParseContext:
    """Collects problems while a menu file is parsed, instead of stopping at the first one."""

    file: str
    languages: tuple[str, ...]
    catalogues: Mapping[str, Catalogue]
    navigation: NavigationKeys
    messages: Mapping[str, LocalizedText] = field(default_factory=dict)
    """Hints and navigation words: the built-ins with the menu's checked overrides applied."""
    reserve: Mapping[str, int] = field(default_factory=dict)
    """Per language, room kept on every screen for the longest hint (plus its newline)."""
    problems: list[Problem] = field(default_factory=list)
    screen: str = "-"
    line: int | None = None
    backend: str = ""
    """The service's own backend: the default of its ``submit`` screens."""

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def problem(
        self, message: str, value: Any = None, severity: str = "error", *, key: str | None = None
    ) -> None:
        """Record a problem at ``value``'s line, or at the line of ``key`` within it."""
        line = (key_line(value, key) if key is not None else line_of(value)) or self.line
        self.problems.append(Problem(self.file, self.screen, message, line, severity))

    def text(self, raw: Mapping[str, Any], key: str, *, required: bool = True) -> LocalizedText:
        """A per-language text; a plain string is accepted for text that needs no translation."""
        value = raw.get(key)
        if value is None:
            if required:
                self.problem(f"missing '{key}'", raw)
            return LocalizedText.plain("", self.default_language)
        if isinstance(value, str):
            return LocalizedText.plain(value, self.default_language)
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            self.problem(f"'{key}' must be a text or a mapping of language to text", raw, key=key)
            return LocalizedText.plain("", self.default_language)
        missing = [lang for lang in self.languages if lang not in value]
        if missing:
            self.problem(f"'{key}' has no text in {', '.join(missing)}", value)
        unknown = [lang for lang in value if lang not in self.languages]
        if unknown:
            self.problem(f"'{key}' has text in undeclared language {', '.join(unknown)}", value)
        try:
            return LocalizedText.compile(value, self.default_language)
        except Exception as exc:  # jinja2 syntax errors carry a useful message
            self.problem(f"'{key}' has a template error: {exc}", value)
            return LocalizedText.plain("", self.default_language)

    def template(self, raw: Mapping[str, Any], key: str) -> Template | None:
        value = raw.get(key)
        if value is None:
            return None
        try:
            return Template.compile(str(value))
        except Exception as exc:
            self.problem(f"'{key}' has a template error: {exc}", raw)
            return None

    def screen_ref(self, raw: Mapping[str, Any], key: str, *, required: bool = True) -> str:
        value = raw.get(key)
        if value is None:
            if required:
                self.problem(f"missing '{key}'", raw)
            return ""
        if not isinstance(value, str):
            self.problem(f"'{key}' must name a screen", raw, key=key)
            return ""
        return value

    def mapping(self, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = raw.get(key) or {}
        if not isinstance(value, Mapping):
            self.problem(f"'{key}' must be a mapping", raw, key=key)
            return {}
        return value

    def variable_name(self, raw: Mapping[str, Any], key: str, *, required: bool = True) -> str:
        value = raw.get(key)
        if value is None:
            if required:
                self.problem(f"missing '{key}'", raw)
            return ""
        if not isinstance(value, str) or not value.isidentifier() or value.startswith("_"):
            self.problem(f"'{key}' must be a variable name (letters, digits, _)", raw, key=key)
            return ""
        return value


# ---- the screen type base ----------------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    """A screen of a menu: interactive ones show text and take an entry, automatic ones act."""

    id: str
    line: int | None

    type_name: ClassVar[str] = ""
    keys: ClassVar[frozenset[str]] = frozenset()
    """Keys this type accepts besides ``type``; anything else is a schema error."""
    interactive: ClassVar[bool] = True
    ends: ClassVar[bool] = False
    example: ClassVar[str] = ""
    """A short YAML example, for operators' documentation."""

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> Screen:
        raise NotImplementedError

    def targets(self) -> tuple[Edge, ...]:
        return ()

    def sets(self) -> Mapping[str, Any]:
        """Variables this screen sets, with a worst-case (longest) sample value each."""
        return {}

    def samples(self) -> Mapping[str, tuple[Any, ...]]:
        """Every value worth sizing a screen with, per variable this screen sets.

        Beyond the longest value: falsy ones (``false``, an empty entry) and each distinct
        choice, so both branches of ``{% if x %}`` / ``{% if not x %}`` get measured.
        """
        return {name: (value,) for name, value in self.sets().items()}

    def texts(self) -> tuple[LocalizedText, ...]:
        return ()

    # interactive screens
    def render(self, hop: HopContext) -> str:
        raise NotImplementedError

    def pages(self, hop: HopContext) -> int:
        return 1

    def handle(self, hop: HopContext, entry: str) -> Outcome:
        raise NotImplementedError

    def back(self, hop: HopContext) -> Stay | None:
        """The back key on this screen's first page, when the screen itself takes it (a list
        showing search results goes back to the full list); None: the usual back."""
        return None

    # automatic screens
    async def run(self, hop: HopContext) -> Outcome:
        raise NotImplementedError
