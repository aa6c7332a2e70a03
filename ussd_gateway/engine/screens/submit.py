"""``submit``: turn the journey into a durable submission and learn its reference."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.domain.session import Session
from ussd_gateway.domain.submissions import REFERENCE_SLOT, SmsReceipt, SubmissionDraft
from ussd_gateway.engine.screens.base import Edge, Fail, Go, Outcome, ParseContext, Screen
from ussd_gateway.engine.screens.end import EndScreen

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext

log = logging.getLogger(__name__)


def once_key(service: str, screen: str, value: str) -> str:
    """The idempotency key of a ``once_per`` submission: one per service, screen and value (the
    SMS channel asks it too: ``KIKAO HALI`` looks up the sender's own registration)."""
    return f"once:{service}:{screen}:{value.strip().lower()}"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "ndiyo"}
    return bool(value)


@dataclass(frozen=True)
class SubmitScreen(Screen):
    type_name: ClassVar[str] = "submit"
    keys: ClassVar[frozenset[str]] = frozenset(
        {
            "backend",
            "next",
            "fields",
            "anonymous",
            "kind",
            "save_as",
            "once_per",
            "existing",
            "sms_consent",
        }
    )
    interactive: ClassVar[bool] = False
    example: ClassVar[str] = """\
send:
  type: submit
  backend: feedback          # where the forwarding worker delivers it
  fields: [kind, institution, institution_name, body, name]   # default: every variable
  anonymous: anonymous       # a variable: when true, the phone number is not stored
  kind: kind                 # a variable holding the kind of request
  save_as: reference         # default: reference
  sms_consent: sms_receipt   # a variable: an anonymous citizen gets the `next` end screen's
                             # `sms:` receipt only when it is true (named ones always do)
  next: done
register:
  type: submit               # backend: default the service's own `backend:`
  once_per: phone            # one submission per value of this variable, ever: a repeat
  existing: already          # goes here instead, with the first one's reference in save_as
  next: registered"""

    backend: str
    next: str
    fields: tuple[str, ...]
    anonymous: str
    kind: str
    save_as: str
    once_per: str = ""
    """A variable: at most one submission per value of it, ever (e.g. one registration per
    phone). The database's unique idempotency key enforces it, also under concurrent repeats."""
    existing: str = ""
    """Where a repeat goes, with the first submission's reference in ``save_as``."""
    sms_consent: str = ""

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> SubmitScreen:
        backend = raw.get("backend") or ctx.backend
        if not isinstance(backend, str) or not backend:
            ctx.problem("missing 'backend' (here or the service's own `backend:`)", raw)
            backend = ""
        once_per = ctx.variable_name(raw, "once_per", required=False)
        existing = ctx.screen_ref(raw, "existing", required=bool(once_per))
        if existing and not once_per:
            ctx.problem("'existing' needs 'once_per'", raw, key="existing")
        fields = raw.get("fields") or []
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            ctx.problem("'fields' must be a list of variable names", raw)
            fields = []
        return cls(
            screen_id,
            ctx.line,
            backend,
            ctx.screen_ref(raw, "next"),
            tuple(fields),
            ctx.variable_name(raw, "anonymous", required=False),
            ctx.variable_name(raw, "kind", required=False),
            ctx.variable_name(raw, "save_as", required=False) or "reference",
            once_per,
            existing,
            ctx.variable_name(raw, "sms_consent", required=False),
        )

    def targets(self) -> tuple[Edge, ...]:
        edges = [Edge(self.next, "stored")] if self.next else []
        if self.existing:
            edges.append(Edge(self.existing, "already stored"))
        return tuple(edges)

    def sets(self) -> Mapping[str, str]:
        return {self.save_as: "W" * 8}

    async def run(self, hop: HopContext) -> Outcome:
        session = hop.session
        variables = session.vars
        data = {f: variables.get(f) for f in self.fields} if self.fields else dict(variables)
        anonymous = _truthy(variables.get(self.anonymous)) if self.anonymous else False
        if anonymous:
            data = {k: v for k, v in data.items() if k not in {"phone", "name"}}
        kind = variables.get(self.kind) if self.kind else None
        key = self.idempotency_key(hop)
        draft = SubmissionDraft(
            idempotency_key=key,
            service=hop.definition.service,
            backend=self.backend,
            channel="ussd",
            language=session.language,
            data=data,
            phone=None if anonymous else session.phone,
            anonymous=anonymous,
            kind=str(kind) if kind is not None else None,
            receipt=self.receipt(hop, anonymous),
        )
        if hop.ports is None:
            return Fail("unavailable")
        if self.once_per:
            try:
                async with asyncio.timeout(hop.submit_timeout):
                    first = await hop.ports.existing(key)
            except Exception:
                log.exception("duplicate check failed for service %s", hop.definition.service)
                return Fail("unavailable")
            if first is not None:
                session.submitting = ""
                return Go(self.existing, {self.save_as: first})
        try:
            # a slow commit may still land after the timeout: the idempotency key makes the
            # citizen's next "send" return that same reference instead of a second submission
            # (a timeout context, not wait_for: no task of its own per submission on 3.11)
            async with asyncio.timeout(hop.submit_timeout):
                reference = await hop.ports.submit(draft)
        except TimeoutError:
            # still queued or committing: the next hop looks for it (``settle``)
            log.warning("submission for service %s outlasted its timeout", hop.definition.service)
            return Fail("not_confirmed", unsure=True)
        except Exception:
            log.exception("submission failed for service %s", hop.definition.service)
            return Fail("unavailable", unsure=True)  # an outage may have followed a commit
        return self._stored(session, reference)

    async def settle(self, hop: HopContext) -> Go | None:
        """Where a submission that outlasted an earlier hop leads, once it is found stored:
        the citizen sees its reference, and pressing send again is not needed. None while it
        is not found (not written, or not yet): the citizen's entry then counts as usual, and
        a second send carries the same idempotency key, so it files nothing twice."""
        if hop.ports is None:
            return None
        try:
            async with asyncio.timeout(hop.lookup_timeout):
                reference = await hop.ports.existing(self.idempotency_key(hop))
        except Exception as exc:
            log.warning("could not look for an unconfirmed submission: %s", type(exc).__name__)
            return None
        return None if reference is None else self._stored(hop.session, reference)

    def idempotency_key(self, hop: HopContext) -> str:
        """One per journey, screen and submission: the same after a redial resumed the
        journey in a new session, so the write a dropped call left in flight is found."""
        session = hop.session
        if self.once_per:
            value = str(session.vars.get(self.once_per) or "")
            return once_key(hop.definition.service, self.id, value)
        journey = session.journey or session.key
        return f"{journey}:{session.started_at:.3f}:{self.id}:{session.submissions}"

    def _stored(self, session: Session, reference: str) -> Go:
        session.submissions += 1
        session.submitting = ""
        return Go(self.next, {self.save_as: reference})

    def receipt(self, hop: HopContext, anonymous: bool) -> SmsReceipt | None:
        """The ``next`` end screen's ``sms:`` text, rendered now (the reference left as a slot)
        so it is stored with the submission; None without one, a number, or consent."""
        end = hop.definition.screens.get(self.next)
        phone = hop.session.phone
        if not isinstance(end, EndScreen) or end.sms is None or not phone:
            return None
        if anonymous and not (self.sms_consent and _truthy(hop.session.vars.get(self.sms_consent))):
            return None
        variables = {**hop.variables, self.save_as: REFERENCE_SLOT}
        text = end.sms.render(hop.language, variables)
        return SmsReceipt(phone, hop.language, text, drop_phone=anonymous) if text else None
