"""``lookup``: read a submission's status during a hop, with a hard time limit; or, with
``once``, find the caller's own ``once_per`` submission before they type anything."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.engine.screens.base import Edge, Fail, Go, Outcome, ParseContext, Screen
from ussd_gateway.engine.screens.submit import once_key
from ussd_gateway.engine.text import LocalizedText

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LookupScreen(Screen):
    type_name: ClassVar[str] = "lookup"
    keys: ClassVar[frozenset[str]] = frozenset(
        {"reference", "once", "save_as", "next", "not_found", "unavailable", "statuses"}
    )
    interactive: ClassVar[bool] = False
    example: ClassVar[str] = """\
track_find:
  type: lookup
  reference: track_ref       # the variable holding the reference typed by the citizen
  save_as: found             # sets found.reference, found.status, found.label, found.note...
  statuses:
    pending: {sw: "Imepokelewa", en: "Received"}
  next: track_result
  not_found: track_missing
  unavailable: track_later   # optional: shown when the lookup is slow or failing
registered:
  type: lookup
  once: register             # a submit screen with once_per: the caller's own submission there,
                             # found by the number they dial with (asked before any typing)
  save_as: registration      # its reference (the submit's once_per variable: the caller's number)
  next: already              # found: typically the submit's `existing` screen
  not_found: name"""

    reference: str
    save_as: str
    next: str
    not_found: str
    unavailable: str
    statuses: Mapping[str, LocalizedText]
    once: str = ""
    """A submit screen with ``once_per``: look up the caller's number's submission there, so a
    citizen registered already is told so before typing the answers a repeat would throw away."""

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> LookupScreen:
        statuses = {
            str(status): ctx.text(raw["statuses"], status)
            for status in ctx.mapping(raw, "statuses")
        }
        once = ctx.screen_ref(raw, "once", required=False)
        if once and "reference" in raw:
            ctx.problem("give 'reference' or 'once', not both", raw, key="once")
        if once and statuses:
            ctx.problem("'statuses' label a reference's status: not with 'once'", raw, key="once")
        return cls(
            screen_id,
            ctx.line,
            "" if once else ctx.variable_name(raw, "reference"),
            ctx.variable_name(raw, "save_as", required=False) or ("reference" if once else "found"),
            ctx.screen_ref(raw, "next"),
            ctx.screen_ref(raw, "not_found"),
            ctx.screen_ref(raw, "unavailable", required=False),
            statuses,
            once,
        )

    def targets(self) -> tuple[Edge, ...]:
        edges = [Edge(self.next, "found"), Edge(self.not_found, "not found")]
        if self.unavailable:
            edges.append(Edge(self.unavailable, "unavailable"))
        return tuple(e for e in edges if e.target)

    def sets(self) -> Mapping[str, Any]:
        if self.once:
            return {self.save_as: "W" * 8}
        labels = [t for text in self.statuses.values() for t in text.sources().values()]
        return {
            self.save_as: {
                "reference": "W" * 8,
                "status": "in_progress",
                "label": max(labels, key=len, default="W" * 12),
                "note": "W" * 80,
                "date": "00/00/0000",
                "updated": "00/00/0000",
            }
        }

    def samples(self) -> Mapping[str, tuple[Any, ...]]:
        if self.once:
            return {}
        found = dict(self.sets()[self.save_as])
        return {self.save_as: (found, {**found, "note": ""})}

    def texts(self) -> tuple[LocalizedText, ...]:
        return tuple(self.statuses.values())

    async def run(self, hop: HopContext) -> Outcome:
        if self.once:
            return await self._run_once(hop)
        reference = str(hop.session.vars.get(self.reference) or "")
        try:
            if hop.ports is None:
                raise RuntimeError("no submission store")
            found = await asyncio.wait_for(hop.ports.get(reference), hop.lookup_timeout)
        except Exception as exc:  # slow or failing store: answer now, politely
            log.warning("lookup failed for service %s: %r", hop.definition.service, exc)
            return Go(self.unavailable) if self.unavailable else Fail("unavailable")
        if found is None:
            return Go(self.not_found)
        label = self.statuses.get(found.status) or GATEWAY_LABELS.get(found.status)
        return Go(
            self.next,
            {
                self.save_as: {
                    "reference": found.reference,
                    "status": found.status,
                    "label": label.render(hop.language, {}) if label else found.status,
                    "note": note_in(found.status_note, hop.language, hop.definition.languages),
                    "date": found.created_at.strftime("%d/%m/%Y"),
                    "updated": found.updated_at.strftime("%d/%m/%Y"),
                }
            },
        )

    async def _run_once(self, hop: HopContext) -> Outcome:
        submit = hop.definition.screens.get(self.once)
        once_per = getattr(submit, "once_per", "")
        phone = hop.session.phone
        if not once_per or not phone:
            return Go(self.not_found)
        key = once_key(hop.definition.service, self.once, phone)
        try:
            if hop.ports is None:
                raise RuntimeError("no submission store")
            async with asyncio.timeout(hop.lookup_timeout):
                first = await hop.ports.existing(key)
        except Exception as exc:  # slow or failing: the submit screen checks again at the end
            log.warning("registration check failed for %s: %r", hop.definition.service, exc)
            return Go(self.unavailable) if self.unavailable else Go(self.not_found)
        if first is None:
            return Go(self.not_found)
        return Go(self.next, {self.save_as: first, once_per: phone})


GATEWAY_LABELS: Mapping[str, LocalizedText] = {
    status: LocalizedText.compile({"sw": sw, "en": en}, "sw")
    for status, sw, en in (
        (
            "pending",
            "Imepokelewa, inasubiri kutumwa kwa taasisi",
            "Received, waiting to reach the institution",
        ),
        ("delivered", "Imefikishwa kwa taasisi", "Delivered to the institution"),
        ("failed", "Bado haijafika kwa taasisi", "Not yet delivered to the institution"),
        ("dead", "Bado haijafika kwa taasisi", "Not yet delivered to the institution"),
        ("reopened", "Imefunguliwa upya", "Reopened"),
    )
}
"""Labels for the statuses every submission can have, when a service's ``statuses`` leave one
out: a citizen must never read a raw "dead"."""


def note_in(note: str | Mapping[str, str] | None, language: str, languages: tuple[str, ...]) -> str:
    """A backend's note in the citizen's language, else the service's default, else any."""
    if not note:
        return ""
    if isinstance(note, str):
        return note
    for candidate in (language, *languages):
        if note.get(candidate):
            return str(note[candidate])
    return next((str(text) for text in note.values() if text), "")
