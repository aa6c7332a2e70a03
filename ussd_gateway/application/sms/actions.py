"""What each keyword does; ``ACTIONS`` maps an action name (used in routes) to its function.

An action gets the inbound message, the matched route and the services it may use, and returns
the reply text (in the route's language); it must be idempotent on the message's id, because
Africa's Talking retries a callback until it gets a 200.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from ussd_gateway.adapters.outbox.sms import SmsOutbox
from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.application.sms.router import KeywordRouter, Match
from ussd_gateway.application.sms.status_text import status_fields
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.domain.submissions import SubmissionDraft
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.screens.submit import SubmitScreen, once_key

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
    router: KeywordRouter | None = None

    @property
    def language(self) -> str:
        return self.match.route.language or self.config.default_language

    @property
    def service(self) -> str | None:
        """The service whose keyword matched (None for the gateway's own routes)."""
        service = self.match.route.params.get("service")
        return str(service) if service else None

    def text(self, key: str, **fields: object) -> str:
        """Text ``key``; every text may name the keyword, the service's title and code, the
        number the citizen texted (``{to}``) and list the service keywords (``{keywords}``)."""
        values: dict[str, object] = {
            "keyword": self.match.route.words[0],
            "title": self._title(self.service or ""),
            "code": self.match.route.params.get("code") or "",
            "to": self.message.to or self.config.short_code or "",
            "keywords": self.service_keywords(),
            **fields,
        }
        return self.config.text(key, self.language, **values)

    def service_keywords(self) -> str:
        """``MREJESHO na ujumbe wako; KIKAO (Usajili wa ...); ``: the services' keywords in
        this language, each saying what it is for (a help text a citizen can act on)."""
        if self.router is None:
            return ""
        items = []
        for route in self.router.routes:
            if (
                len(route.words) == 1
                and route.params.get("service")
                and (route.action != "unavailable" and route.language == self.language)
            ):
                word = route.words[0]
                key = "keyword_give" if route.action == "feedback" else "keyword_service"
                title = self._title(str(route.params["service"]))
                items.append(self.config.text(key, self.language, keyword=word, title=title))
        return "".join(f"{item}; " for item in items)

    def _title(self, service: str) -> str:
        definition = self.definitions.get(service)
        title = definition.title if definition is not None else {}
        return title.get(self.language) or next(iter(title.values()), service)


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
    """``HALI <ref>``: the status the USSD tracking screen would show. Under a service's
    keyword (``MREJESHO HALI <ref>``) only that service's references are found; with no
    reference (``KIKAO HALI``) the sender's own ``once_per`` registration is looked up."""
    reference = ctx.match.argument.split()[0] if ctx.match.argument else ""
    service = ctx.service
    if not reference:  # "HALI" alone: how to ask
        if service:
            return await own_registration(ctx, service)
        return ctx.text("help")
    view = await ctx.submissions.get(reference)
    if view is None or (service and view.service != service):  # no leak across services
        return ctx.text("not_found_in" if service else "not_found", reference=reference.upper())
    return ctx.text("status", **status_fields(view, ctx.language, ctx.definitions))


async def own_registration(ctx: ActionContext, service: str) -> str:
    """The sender's number as the ``once_per`` value of the service's submit screens: what
    the USSD menu would answer "already registered" with."""
    definition = ctx.definitions.get(service)
    screens = (
        []
        if definition is None
        else [s for s in definition.screens.values() if isinstance(s, SubmitScreen) and s.once_per]
    )
    if not screens:
        return ctx.text("service_help")
    for screen in screens:
        key = once_key(service, screen.id, ctx.message.phone)
        reference = await ctx.submissions.existing(key)
        if reference is not None:
            return ctx.text("registered", reference=reference)
    return ctx.text("not_registered")


async def register(ctx: ActionContext) -> str:
    """``KIKAO SAJILI``: how to register by USSD (name, institution, position and number are
    checked and confirmed screen by screen there; a free-text SMS form would skip that)."""
    return ctx.text("register")


async def service_help(ctx: ActionContext) -> str:
    return ctx.text("service_help")


async def unavailable(ctx: ActionContext) -> str:
    """A keyword of a service whose file is broken: it is not served for now."""
    return ctx.text("service_unavailable")


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
    "register": register,
    "service_help": service_help,
    "unavailable": unavailable,
}
