"""``menu``: numbered options, each leading to a screen and optionally setting variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.engine.messages import choices
from ussd_gateway.engine.screens.base import Edge, Go, Outcome, ParseContext, Retry, Screen
from ussd_gateway.engine.text import LocalizedText
from ussd_gateway.engine.yaml_source import line_of

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext

OPTION_KEYS = frozenset({"label", "next", "set", "language"})


@dataclass(frozen=True)
class Option:
    label: LocalizedText
    next: str
    set: Mapping[str, Any]
    language: str | None
    line: int | None = None


@dataclass(frozen=True)
class MenuScreen(Screen):
    type_name: ClassVar[str] = "menu"
    keys: ClassVar[frozenset[str]] = frozenset({"text", "options"})
    example: ClassVar[str] = """\
home:
  type: menu
  text: {sw: "Karibu", en: "Welcome"}
  options:
    - {label: {sw: "Toa mrejesho", en: "Give feedback"}, next: kind}
    - {label: {sw: "English", en: "Kiswahili"}, language: en, next: home}
    - {label: {sw: "Malalamiko", en: "Complaint"}, set: {kind: complaint}, next: body}"""

    text: LocalizedText
    options: tuple[Option, ...]

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> MenuScreen:
        options: list[Option] = []
        raw_options = raw.get("options")
        if not isinstance(raw_options, list) or not raw_options:
            ctx.problem("'options' must be a non-empty list", raw)
            raw_options = []
        for item in raw_options:
            if not isinstance(item, Mapping):
                ctx.problem("each option must be a mapping with label and next", raw)
                continue
            for key in item:
                if key not in OPTION_KEYS:
                    ctx.problem(f"unknown option key '{key}'", item)
            language = item.get("language")
            if language is not None and language not in ctx.languages:
                ctx.problem(f"option switches to undeclared language '{language}'", item)
            values = ctx.mapping(item, "set")
            for name in values:
                if not str(name).isidentifier():
                    ctx.problem(f"'set' names an invalid variable '{name}'", item)
            options.append(
                Option(
                    label=ctx.text(item, "label"),
                    next=ctx.screen_ref(item, "next"),
                    set=dict(values),
                    language=language,
                    line=line_of(item),
                )
            )
        if len(options) > 9:
            ctx.problem("a menu shows at most 9 options; use a list screen", raw)
        clashes = [str(n) for n in range(1, len(options) + 1) if str(n) in ctx.navigation.reserved]
        if clashes:
            ctx.problem(f"option {', '.join(clashes)} is also a navigation key", raw)
        return cls(screen_id, ctx.line, ctx.text(raw, "text"), tuple(options))

    def targets(self) -> tuple[Edge, ...]:
        return tuple(
            Edge(o.next, f"{n}. {o.label.sources().get(o.label.default, '')}", o.line)
            for n, o in enumerate(self.options, start=1)
            if o.next
        )

    def sets(self) -> Mapping[str, str]:
        longest: dict[str, str] = {}
        for option in self.options:
            for name, value in option.set.items():
                if len(str(value)) >= len(longest.get(name, "")):
                    longest[name] = str(value)
        return longest

    def samples(self) -> Mapping[str, tuple[Any, ...]]:
        values: dict[str, list[Any]] = {}
        for option in self.options:
            for name, value in option.set.items():
                if value not in values.setdefault(name, []):
                    values[name].append(value)
        return {name: tuple(found) for name, found in values.items()}

    def texts(self) -> tuple[LocalizedText, ...]:
        return (self.text, *(o.label for o in self.options))

    def render(self, hop: HopContext) -> str:
        variables = hop.shown
        lines = [self.text.render(hop.language, variables)]
        lines += [
            f"{n}. {o.label.render(hop.language, variables)}"
            for n, o in enumerate(self.options, start=1)
        ]
        footer = hop.footer()
        if footer:
            lines.append(footer)
        return "\n".join(lines)

    def handle(self, hop: HopContext, entry: str) -> Outcome:
        if entry.isascii() and entry.isdigit() and 1 <= int(entry) <= len(self.options):
            option = self.options[int(entry) - 1]
            return Go(option.next, option.set, option.language)
        return Retry("choose_from", choices(len(self.options)))
