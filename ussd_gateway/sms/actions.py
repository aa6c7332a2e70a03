"""What each keyword does; ``ACTIONS`` maps an action name (used in routes) to its function.

An action gets the inbound message, the matched route and the services it may use, and returns
the reply text (in the route's language); it must be idempotent on the message's id, because
Africa's Talking retries a callback until it gets a 200.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.screens.submit import SubmitScreen
from ussd_gateway.sms.config import SmsConfig
from ussd_gateway.sms.outbox import SmsOutbox
from ussd_gateway.sms.router import Match
from ussd_gateway.sms.status_text import status_fields
from ussd_gateway.submissions.model import SubmissionDraft
from ussd_gateway.submissions.store import SubmissionStore

log = logging.getLogger(__name__)

MAX_MESSAGE = 1600
"""Characters of an SMS complaint kept (ten concatenated parts)."""


@dataclass(frozen=True, slots=True)
class InboundSms:
    """An SMS a citizen sent to our short code (Africa's Talking's callback fields)."""

    id: str
    phone: str
    to: str
    text: str
    date: str
    link_id: str | None


@dataclass(frozen=True, slots=True)
class ActionContext:
    message: InboundSms
    match: Match
    config: SmsConfig
    outbox: SmsOutbox
    submissions: SubmissionStore
    definitions: Mapping[str, MenuDefinition]

    @property
    def language(self) -> str:
        return self.match.route.language

    def text(self, key: str, **fields: object) -> str:
        return self.config.text(key, self.language, **fields)


Action = Callable[[ActionContext], Awaitable[str]]


def backend_of(definition: MenuDefinition | None) -> str | None:
    """The backend a service's own ``submit`` screen delivers to."""
    if definition is None:
        return None
    return next(
        (s.backend for s in definition.screens.values() if isinstance(s, SubmitScreen)), None
    )


async def feedback(ctx: ActionContext) -> str:
    """``MREJESHO <ujumbe>``: a submission to the service's backend, its reference back."""
    body = ctx.match.argument[:MAX_MESSAGE]
    if not body:
        return ctx.text("feedback_empty")
    params = ctx.match.route.params
    service = str(params.get("service") or "mrejesho")
    backend = params.get("backend") or backend_of(ctx.definitions.get(service))
    if not backend:
        log.error("SMS keyword for %r: no backend (service has no submit screen)", service)
        return ctx.text("unavailable")
    data: dict[str, object] = {"body": body}
    kind = params.get("kind")
    if kind:
        data["kind"] = kind
    reference = await ctx.submissions.submit(
        SubmissionDraft(
            idempotency_key=f"sms:{ctx.message.id}",
            service=service,
            backend=str(backend),
            channel="sms",
            language=ctx.language,
            data=data,
            phone=ctx.message.phone,
            kind=str(kind) if kind else None,
        )
    )
    return ctx.text("feedback_received", reference=reference)


async def status(ctx: ActionContext) -> str:
    """``HALI <ref>``: the status the USSD tracking screen would show."""
    reference = ctx.match.argument.split()[0] if ctx.match.argument else ""
    if not reference:  # "HALI" alone: how to ask
        return ctx.text("help")
    view = await ctx.submissions.get(reference)
    if view is None:
        return ctx.text("not_found", reference=reference.upper())
    return ctx.text("status", **status_fields(view, ctx.language, ctx.definitions))


async def stop(ctx: ActionContext) -> str:
    """``ACHA`` / ``STOP``: no more status updates to this number."""
    await ctx.outbox.opt_out(ctx.message.phone)
    return ctx.text("stopped")


async def start(ctx: ActionContext) -> str:
    """``ANZA`` / ``START``: status updates again."""
    await ctx.outbox.opt_in(ctx.message.phone)
    return ctx.text("started")


async def help_text(ctx: ActionContext) -> str:
    return ctx.text("help")


ACTIONS: dict[str, Action] = {
    "feedback": feedback,
    "status": status,
    "stop": stop,
    "start": start,
    "help": help_text,
}
