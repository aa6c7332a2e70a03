"""Admin endpoints (every ``/admin/…`` path) need a bearer token: ``ADMIN_TOKEN`` for all of
them, or an operator's token (``operators:`` in gateway.yaml) for the endpoints marked
``scoped``, which then act only on that operator's own services.

The middleware covers every admin route whoever registers it. With neither ``ADMIN_TOKEN`` nor
an operator token configured, admin endpoints are closed to everyone (403), never open. An
operator token on an endpoint not marked ``scoped`` gets 403 with the reason: an endpoint
forgets nothing by not knowing about operators.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from ussd_gateway.application.operators import Operator, identify
from ussd_gateway.config.operators import OperatorConfig

log = logging.getLogger(__name__)

PREFIX = "/admin"

OPERATOR = web.RequestKey("operator", Operator)
"""Who an admin request acts as (set by the middleware before any admin handler runs)."""

_SCOPED = "_operator_scoped"

F = TypeVar("F", bound=Callable[..., Any])


def scoped(handler: F) -> F:
    """Mark an admin handler that checks ``request[OPERATOR]`` against each service it touches:
    operator tokens may call it."""
    setattr(handler, _SCOPED, True)
    return handler


def is_admin_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def refused(reason: str) -> web.Response:
    """403 with a one-line reason, as every scope refusal answers."""
    return web.json_response({"error": reason}, status=403)


def _unauthorized() -> web.Response:
    return web.Response(status=401, headers={hdrs.WWW_AUTHENTICATE: "Bearer"})


def _bearer_operator(
    request: web.Request, token: str | None, operators: Mapping[str, OperatorConfig]
) -> Operator | None:
    scheme, _, given = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return identify(given.strip(), token, operators.values())


def admin_middleware(
    token: str | None, operators: Mapping[str, OperatorConfig] | None = None
) -> web.Middleware:
    operators = dict(operators or {})
    enabled = bool(token) or any(o.digest for o in operators.values())

    @web.middleware
    async def guard_admin(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_admin_path(request.path):
            return await handler(request)
        if not enabled:
            log.warning("refused admin request: 403")
            return web.Response(status=403)
        operator = _bearer_operator(request, token, operators)
        if operator is None:
            log.warning("refused admin request: 401")
            return _unauthorized()
        if not operator.admin and not getattr(request.match_info.handler, _SCOPED, False):
            log.warning("operator %s refused %s %s", operator.name, request.method, request.path)
            return refused(
                f"an operator token cannot use {request.method} {request.path}: "
                "it needs ADMIN_TOKEN"
            )
        request[OPERATOR] = operator
        return await handler(request)

    return guard_admin
