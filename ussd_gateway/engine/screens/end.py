"""``end``: the last screen; the session closes after showing it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.engine.screens.base import Outcome, ParseContext, Retry, Screen
from ussd_gateway.engine.text import LocalizedText

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext


OUTCOMES: tuple[str, ...] = ("completed", "cancelled")


@dataclass(frozen=True)
class EndScreen(Screen):
    type_name: ClassVar[str] = "end"
    keys: ClassVar[frozenset[str]] = frozenset({"text", "sms", "outcome"})
    ends: ClassVar[bool] = True
    example: ClassVar[str] = """\
done:
  type: end
  text:
    sw: "Asante. Namba ya kumbukumbu: {{ reference }}"
    en: "Thank you. Reference number: {{ reference }}"
  sms: {sw: "e-Mrejesho: {{ reference }}", en: "e-Mrejesho: {{ reference }}"}
cancelled:
  type: end
  outcome: cancelled          # counted as a cancellation in metrics and reports
  text: {sw: "Mrejesho haukutumwa.", en: "Your feedback was not sent."}"""

    text: LocalizedText
    sms: LocalizedText | None
    """Receipt text sent by SMS after the screen (delivered by the SMS channel)."""
    outcome: str = "completed"
    """How reports count a journey ending here: ``completed`` or ``cancelled`` (the citizen
    chose not to go on), so a "cancel" end screen is not taken for a finished journey."""

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> EndScreen:
        sms = ctx.text(raw, "sms") if "sms" in raw else None
        outcome = str(raw.get("outcome", "completed"))
        if outcome not in OUTCOMES:
            ctx.problem(f"'outcome' must be one of {', '.join(OUTCOMES)}", raw, key="outcome")
            outcome = "completed"
        return cls(screen_id, ctx.line, ctx.text(raw, "text"), sms, outcome)

    def texts(self) -> tuple[LocalizedText, ...]:
        return (self.text,)

    def render(self, hop: HopContext) -> str:
        return self.text.render(hop.language, hop.shown)

    def handle(self, hop: HopContext, entry: str) -> Outcome:  # pragma: no cover - session ended
        return Retry("invalid_choice")
