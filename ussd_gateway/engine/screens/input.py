"""``input``: free entry, validated; a wrong entry shows the screen again with a short hint."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.domain import references
from ussd_gateway.engine import echo
from ussd_gateway.engine.messages import choices
from ussd_gateway.engine.screens.base import Edge, Go, Outcome, ParseContext, Retry, Screen, Turn
from ussd_gateway.engine.text import LocalizedText

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext

VALIDATE_KEYS = frozenset(
    {"min_length", "max_length", "pattern", "digits", "phone", "choices", "reference", "cut"}
)
DEFAULT_MAX_LENGTH = 160
"""Without a declared maximum, assume what one USSD entry can carry."""

TAIL = 30
"""Characters of a cut message shown when asking whether to keep it: where it will end."""


def normalise_phone(entry: str, country: str = "255") -> str | None:
    """A local (07…) or international (+255…, 255…) number as E.164, or None."""
    digits = re.sub(r"[\s\-()]", "", entry)
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0") and len(digits) == 10:
        digits = country + digits[1:]
    if not digits.isdigit() or not 10 <= len(digits) <= 15 or digits.startswith("0"):
        return None  # no country code starts with 0
    if digits.startswith(country) and len(digits) != len(country) + 9:
        return None
    return "+" + digits


@dataclass(frozen=True)
class Validation:
    min_length: int = 0
    max_length: int = DEFAULT_MAX_LENGTH
    pattern: re.Pattern[str] | None = None
    digits: bool = False
    phone: bool = False
    choices: tuple[str, ...] = ()
    reference: bool = False
    cut: bool = False
    """An entry over ``max_length`` is offered cut to it instead of refused: a long message
    typed on a feature phone is too much work to lose for a few characters."""

    @property
    def declared(self) -> bool:
        return self != Validation()

    def check(self, entry: str) -> tuple[str | None, Retry | None]:
        """The value to save, or the hint to show."""
        if self.phone:
            number = normalise_phone(entry)
            return (number, None) if number else (None, Retry("invalid_phone"))
        if self.reference:
            ref = references.normalise(entry)
            return (ref, None) if references.is_valid(ref) else (None, Retry("invalid_reference"))
        if len(entry) < self.min_length:
            return None, Retry("too_short", {"min": self.min_length})
        if len(entry) > self.max_length:
            return None, Retry("too_long", {"max": self.max_length})
        if self.digits and not entry.isdigit():
            return None, Retry("digits_only")
        if self.pattern is not None and not self.pattern.fullmatch(entry):
            return None, Retry("invalid_format")
        if self.choices:
            folded = {c.casefold(): c for c in self.choices}
            if entry.casefold() not in folded:
                return None, Retry("invalid_choice")
            return folded[entry.casefold()], None
        return entry, None

    @property
    def longest(self) -> int:
        if self.phone:
            return 16
        if self.reference:
            return 8
        if self.choices:
            return max(len(c) for c in self.choices)
        return self.max_length


def parse_validation(raw: Any, ctx: ParseContext) -> Validation:
    if raw is None:
        return Validation()
    if not isinstance(raw, Mapping):
        ctx.problem("'validate' must be a mapping", raw)
        return Validation()
    for key in raw:
        if key not in VALIDATE_KEYS:
            ctx.problem(f"unknown validation '{key}'", raw)
    values: dict[str, Any] = {}
    for key in ("min_length", "max_length"):
        if key in raw:
            if not isinstance(raw[key], int) or raw[key] < 0:
                ctx.problem(f"'{key}' must be a whole number", raw)
            else:
                values[key] = raw[key]
    if values.get("min_length", 0) > values.get("max_length", DEFAULT_MAX_LENGTH):
        ctx.problem("'min_length' is larger than 'max_length'", raw)
    if "pattern" in raw:
        try:
            values["pattern"] = re.compile(str(raw["pattern"]))
        except re.error as exc:
            ctx.problem(f"'pattern' is not a valid regular expression: {exc}", raw)
    for key in ("digits", "phone", "reference", "cut"):
        if key in raw:
            if not isinstance(raw[key], bool):
                ctx.problem(f"'{key}' must be true or false", raw)
            else:
                values[key] = raw[key]
    if "choices" in raw:
        choices = raw["choices"]
        if not isinstance(choices, list) or not choices:
            ctx.problem("'choices' must be a non-empty list", raw)
        elif not all(isinstance(c, str | int) and not isinstance(c, bool) for c in choices):
            ctx.problem("'choices' must be texts: quote yes/no/true/false", raw)
        else:
            values["choices"] = tuple(str(c) for c in choices)
    return Validation(**values)


@dataclass(frozen=True)
class InputScreen(Screen):
    type_name: ClassVar[str] = "input"
    keys: ClassVar[frozenset[str]] = frozenset({"text", "save_as", "next", "validate", "hint"})
    example: ClassVar[str] = """\
body:
  type: input
  text: {sw: "Andika ujumbe wako", en: "Type your message"}
  validate: {min_length: 10, max_length: 300}
  hint: {sw: "Ujumbe mfupi mno.", en: "Message too short."}   # optional, replaces built-ins
  save_as: body
  next: confirm"""

    text: LocalizedText
    save_as: str
    next: str
    validation: Validation
    hint: LocalizedText | None

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> InputScreen:
        validation = parse_validation(raw.get("validate"), ctx)
        if not validation.declared:
            ctx.problem("input has no validation: anything typed is accepted", raw, "warning")
        return cls(
            screen_id,
            ctx.line,
            ctx.text(raw, "text"),
            ctx.variable_name(raw, "save_as"),
            ctx.screen_ref(raw, "next"),
            validation,
            ctx.text(raw, "hint") if "hint" in raw else None,
        )

    def targets(self) -> tuple[Edge, ...]:
        return (Edge(self.next, "valid entry"),) if self.next else ()

    def sets(self) -> Mapping[str, str]:
        return {self.save_as: "W" * self.validation.longest} if self.save_as else {}

    def samples(self) -> Mapping[str, tuple[Any, ...]]:
        if not self.save_as:
            return {}
        v = self.validation
        can_be_empty = v.min_length == 0 and not (v.phone or v.reference or v.choices)
        return {self.save_as: ("W" * v.longest, "") if can_be_empty else ("W" * v.longest,)}

    def texts(self) -> tuple[LocalizedText, ...]:
        return (self.text,) if self.hint is None else (self.text, self.hint)

    @property
    def pending(self) -> str:
        """Where an over-long entry waits while the citizen decides whether to send it cut."""
        return f"_{self.save_as}_uncut"

    def render(self, hop: HopContext) -> str:
        if hop.session.page == 1 and self.pending in hop.session.vars:
            return self._confirm_cut(hop)
        text = self.text.render(hop.language, hop.shown)
        footer = hop.footer()
        return f"{text}\n{footer}" if footer else text

    def _confirm_cut(self, hop: HopContext) -> str:
        kept = str(hop.session.vars[self.pending])[: self.validation.max_length]
        tail = echo.shown(kept[-TAIL:].lstrip())
        text = hop.message("confirm_cut", max=self.validation.max_length, tail=tail)
        footer = hop.footer()
        return f"{text}\n{footer}" if footer else text

    def handle(self, hop: HopContext, entry: str) -> Outcome:
        if hop.session.page == 1 and self.pending in hop.session.vars:
            return self._decide_cut(hop, entry)
        hop.session.vars.pop(self.pending, None)  # typed again instead of answering 1 or 2
        v = self.validation
        if v.cut and len(entry) > v.max_length:
            kept, retry = v.check(entry[: v.max_length].rstrip())
            if retry is None and kept is not None:
                hop.session.vars[self.pending] = entry
                return Turn(1)
            value = None  # what is wrong with the part that would be kept, not its length
        else:
            value, retry = v.check(entry)
        if retry is not None:
            if self.hint is not None:
                return Retry("_custom", {"text": self.hint.render(hop.language, hop.shown)})
            return retry
        return Go(self.next, {self.save_as: value})

    def _decide_cut(self, hop: HopContext, entry: str) -> Outcome:
        if entry not in ("1", "2"):
            return Retry("choose_from", choices(2))
        whole = str(hop.session.vars.pop(self.pending))
        if entry == "2":
            return Turn(-1)
        kept, retry = self.validation.check(whole[: self.validation.max_length].rstrip())
        return retry if retry is not None else Go(self.next, {self.save_as: kept})
