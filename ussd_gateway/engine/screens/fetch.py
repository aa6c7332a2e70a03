"""``fetch``: ask an institution's system during the hop and branch on its answer.

The reply is data, never a template: each value the screen keeps is cleaned of control
characters, shown in GSM-7 look-alikes (as a citizen's entry is) and cut to its declared
``max_length``, so a backend cannot push a screen into UCS-2 or past the phone's limit, and the
validator sizes screens with those same lengths. What the citizen typed enters the request only
as field values (the adapter puts them in path segments, query values or a body, URL-encoded),
never in the scheme, host or port.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import jmespath
import jmespath.exceptions

from ussd_gateway.config.kinds import SECONDS
from ussd_gateway.domain.fetch import Answer, FetchRequest, FetchResult
from ussd_gateway.engine import echo
from ussd_gateway.engine.screens.base import Edge, Fail, Go, Outcome, ParseContext, Screen
from ussd_gateway.engine.text import Template

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext

log = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = 30
"""A value without a declared ``max_length`` is cut to this (and sized with it)."""
MAX_ITEMS = 50
"""A list value keeps at most this many entries: the session is not a cache of the backend."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def clean_text(value: str, max_length: int) -> str:
    """A backend's string as a screen may show it: one line, GSM-7 look-alikes, cut."""
    text = str(echo.shown(" ".join(_CONTROL.sub(" ", value).split())))
    if len(text) <= max_length:
        return text
    return text[: max(0, max_length - len(echo.ELLIPSIS))].rstrip() + echo.ELLIPSIS


def clean(value: Any, max_length: int, depth: int = 0) -> Any:
    """A fetched value made safe to keep in the session and show: strings cleaned and cut,
    numbers and booleans kept, lists and mappings kept small, anything else dropped."""
    if isinstance(value, str):
        return clean_text(value, max_length)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= 3:
        return None
    if isinstance(value, list):
        return [clean(item, max_length, depth + 1) for item in value[:MAX_ITEMS]]
    if isinstance(value, Mapping):
        return {
            clean_text(str(key), 40): clean(item, max_length, depth + 1)
            for key, item in list(value.items())[:MAX_ITEMS]
        }
    return None


@dataclass(frozen=True)
class FetchScreen(Screen):
    type_name: ClassVar[str] = "fetch"
    keys: ClassVar[frozenset[str]] = frozenset(
        {
            "backend",
            "request",
            "set",
            "max_length",
            "not_found_if",
            "cache",
            "next",
            "not_found",
            "unavailable",
        }
    )
    interactive: ClassVar[bool] = False
    example: ClassVar[str] = """\
bill_find:
  type: fetch
  backend: bills               # an http backend of config/gateway.yaml
  request: {control_number: "{{ control_number }}"}   # fields, rendered from the session
  set:                         # JMESPath over the JSON reply -> session variables
    payer: payer.name
    amount: amount
  max_length: {payer: 40}      # each value is cut to this (default 30) and sized with it
  not_found_if: "status == 'cancelled'"   # optional: a reply that means "no such thing"
  cache: 60s                   # optional: reuse an answer to the same request this long
  next: bill_show
  not_found: bill_missing      # 404, or not_found_if true
  unavailable: bill_later      # timeout, 5xx, refused, circuit open, bad reply"""

    backend: str
    request: Mapping[str, Template]
    set: Mapping[str, Any]
    """Variable name → compiled JMESPath expression."""
    max_length: Mapping[str, int]
    not_found_if: Any
    cache: float
    next: str
    not_found: str
    unavailable: str

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> FetchScreen:
        backend = raw.get("backend")
        if not isinstance(backend, str) or not backend:
            ctx.problem("missing 'backend' (a backend of config/gateway.yaml)", raw)
            backend = ""
        request: dict[str, Template] = {}
        for name, value in ctx.mapping(raw, "request").items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                ctx.problem(f"'request.{name}' must be a text (a template)", raw, key="request")
                continue
            template = ctx.template({name: value}, name)
            if template is not None:
                request[str(name)] = template
        expressions: dict[str, Any] = {}
        for name, expression in ctx.mapping(raw, "set").items():
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                ctx.problem(f"'set' names a variable: {name!r} is not one", raw, key="set")
                continue
            compiled = _compile(ctx, raw, "set", expression)
            if compiled is not None:
                expressions[name] = compiled
        if not expressions:
            ctx.problem("'set' must name at least one variable and its JMESPath", raw, key="set")
        lengths: dict[str, int] = {}
        for name, length in ctx.mapping(raw, "max_length").items():
            if name not in expressions:
                ctx.problem(
                    f"'max_length.{name}' is not a variable of 'set'", raw, key="max_length"
                )
            elif not isinstance(length, int) or isinstance(length, bool) or not 0 < length <= 160:
                ctx.problem(
                    f"'max_length.{name}' must be a whole number 1-160", raw, key="max_length"
                )
            else:
                lengths[name] = length
        not_found_if = None
        if raw.get("not_found_if") is not None:
            not_found_if = _compile(ctx, raw, "not_found_if", raw["not_found_if"])
        cache = 0.0
        if raw.get("cache") is not None:
            try:
                cache = SECONDS.parse(raw["cache"])
                if cache < 0:
                    raise ValueError(cache)
            except (TypeError, ValueError):
                ctx.problem("'cache' must be a duration such as 60s or 5m", raw, key="cache")
        return cls(
            screen_id,
            ctx.line,
            backend,
            request,
            expressions,
            lengths,
            not_found_if,
            cache,
            ctx.screen_ref(raw, "next"),
            ctx.screen_ref(raw, "not_found"),
            ctx.screen_ref(raw, "unavailable", required=False),
        )

    def targets(self) -> tuple[Edge, ...]:
        edges = [
            Edge(self.next, "found"),
            Edge(self.not_found, "not found"),
            Edge(self.unavailable, "unavailable"),
        ]
        return tuple(e for e in edges if e.target)

    def length(self, name: str) -> int:
        return self.max_length.get(name, DEFAULT_MAX_LENGTH)

    def sets(self) -> Mapping[str, Any]:
        return {name: "W" * self.length(name) for name in self.set}

    def samples(self) -> Mapping[str, tuple[Any, ...]]:
        return {name: ("W" * self.length(name), "") for name in self.set}

    def fields(self, hop: HopContext) -> dict[str, str]:
        """The request rendered from the values as stored (not as shown)."""
        variables = hop.variables
        return {name: template.render(variables) for name, template in self.request.items()}

    async def run(self, hop: HopContext) -> Outcome:
        service = hop.definition.service
        result = await self._ask(hop)
        if result.answer is Answer.FOUND and self.not_found_if is not None:
            try:
                if self.not_found_if.search(result.document):
                    result = FetchResult(Answer.NOT_FOUND, reason="not_found_if")
            except jmespath.exceptions.JMESPathError as exc:
                result = FetchResult(Answer.UNAVAILABLE, reason=f"not_found_if: {exc}")
        if result.answer is Answer.NOT_FOUND:
            return Go(self.not_found)
        if result.answer is Answer.FOUND:
            try:
                values = {
                    name: clean(expression.search(result.document), self.length(name))
                    for name, expression in self.set.items()
                }
                # a field the reply left out is empty on screen, never the word "None"
                values = {name: "" if value is None else value for name, value in values.items()}
            except jmespath.exceptions.JMESPathError as exc:
                result = FetchResult(Answer.UNAVAILABLE, reason=f"reply not as expected: {exc}")
            else:
                return Go(self.next, values)
        log.warning(
            "fetch %s.%s from backend %s unavailable: %s",
            service,
            self.id,
            self.backend,
            result.reason or "no reason given",
        )
        return Go(self.unavailable) if self.unavailable else Fail("unavailable")

    async def _ask(self, hop: HopContext) -> FetchResult:
        if hop.fetcher is None:
            return FetchResult(Answer.UNAVAILABLE, reason="no fetcher configured")
        request = FetchRequest(
            self.backend, self.fields(hop), hop.fetch_timeout, self.cache, screen=self.id
        )
        try:
            # the fetcher keeps its own deadline; this one is the engine's guarantee that a
            # misbehaving adapter still cannot hold the hop past it
            async with asyncio.timeout(hop.fetch_timeout + 0.05):
                return await hop.fetcher.fetch(request)
        except TimeoutError:
            return FetchResult(Answer.UNAVAILABLE, reason=f"no answer in {hop.fetch_timeout:g}s")
        except Exception as exc:  # an adapter's bug must not cost the citizen the session
            return FetchResult(Answer.UNAVAILABLE, reason=f"{type(exc).__name__}: {exc}")


def _compile(ctx: ParseContext, raw: Mapping[str, Any], key: str, expression: Any) -> Any:
    if not isinstance(expression, str) or not expression.strip():
        ctx.problem(f"'{key}' must hold JMESPath expressions (text)", raw, key=key)
        return None
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        message = " ".join(str(exc).split())
        ctx.problem(f"'{key}' has a bad JMESPath {expression!r}: {message}", raw, key=key)
        return None
