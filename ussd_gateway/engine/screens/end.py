"""``end``: the last screen; the session closes after showing it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.engine.screens.base import Outcome, ParseContext, Retry, Screen
from ussd_gateway.engine.text import LocalizedText

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext


@dataclass(frozen=True)
class EndScreen(Screen):
    type_name: ClassVar[str] = "end"
    keys: ClassVar[frozenset[str]] = frozenset({"text", "sms"})
    ends: ClassVar[bool] = True
    example: ClassVar[str] = """\
done:
  type: end
  text: {sw: "Asante. Kumbukumbu: {{ reference }}", en: "Thank you. Ref: {{ reference }}"}
  sms: {sw: "e-Mrejesho: {{ reference }}", en: "e-Mrejesho: {{ reference }}"}"""

    text: LocalizedText
    sms: LocalizedText | None
    """Receipt text sent by SMS after the screen (delivered by the SMS channel)."""

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> EndScreen:
        sms = ctx.text(raw, "sms") if "sms" in raw else None
        return cls(screen_id, ctx.line, ctx.text(raw, "text"), sms)

    def texts(self) -> tuple[LocalizedText, ...]:
        return (self.text,)

    def render(self, hop: HopContext) -> str:
        return self.text.render(hop.language, hop.variables)

    def handle(self, hop: HopContext, entry: str) -> Outcome:  # pragma: no cover - session ended
        return Retry("invalid_choice")
