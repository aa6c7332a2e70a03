"""``router``: branch on session variables without showing anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ussd_gateway.domain.templates import TEMPLATES
from ussd_gateway.engine.screens.base import Edge, Go, Outcome, ParseContext, Screen
from ussd_gateway.engine.yaml_source import line_of

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext


@dataclass(frozen=True)
class Route:
    when: str
    condition: Any
    next: str
    line: int | None = None


@dataclass(frozen=True)
class RouterScreen(Screen):
    type_name: ClassVar[str] = "router"
    keys: ClassVar[frozenset[str]] = frozenset({"routes", "default"})
    interactive: ClassVar[bool] = False
    example: ClassVar[str] = """\
who:
  type: router
  routes:
    - {when: "anonymous", next: confirm}
    - {when: "kind == 'complaint'", next: name}
  default: confirm"""

    routes: tuple[Route, ...]
    default: str

    @classmethod
    def parse(cls, screen_id: str, raw: Mapping[str, Any], ctx: ParseContext) -> RouterScreen:
        routes: list[Route] = []
        raw_routes = raw.get("routes")
        if not isinstance(raw_routes, list) or not raw_routes:
            ctx.problem("'routes' must be a non-empty list of {when, next}", raw)
            raw_routes = []
        for item in raw_routes:
            if not isinstance(item, Mapping) or not isinstance(item.get("when"), str):
                ctx.problem("each route needs 'when' (an expression) and 'next'", raw)
                continue
            try:
                condition = TEMPLATES.compile_expression(item["when"], undefined_to_none=True)
            except Exception as exc:
                ctx.problem(f"route condition '{item['when']}' is invalid: {exc}", item)
                continue
            routes.append(
                Route(item["when"], condition, ctx.screen_ref(item, "next"), line_of(item))
            )
        return cls(screen_id, ctx.line, tuple(routes), ctx.screen_ref(raw, "default"))

    def targets(self) -> tuple[Edge, ...]:
        edges = [Edge(r.next, r.when, r.line) for r in self.routes if r.next]
        if self.default:
            edges.append(Edge(self.default, "default"))
        return tuple(edges)

    async def run(self, hop: HopContext) -> Outcome:
        variables = hop.variables
        for route in self.routes:
            try:
                if route.condition(**variables):
                    return Go(route.next)
            except Exception:  # a condition on a missing or odd value just does not match
                continue
        return Go(self.default)
