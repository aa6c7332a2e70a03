"""Only the aggregators we configured may drive a webhook.

One set of rules per route group, whoever registers its routes: a USSD provider's
(``/ussd/<name>``, ``/ussd/<name>/<token>``, ``/ussd/<name>/events``: ``providers.<name>``) and
the SMS callbacks' (``/sms/inbound``, ``/sms/delivery``, each also ``…/<token>``: ``sms.auth``).
A refused caller gets a bare 401 or 403 and the request never reaches a handler, so nothing
reaches the engine or a store.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from ussd_gateway.config.guard import GuardConfig, Network, ProviderAuth
from ussd_gateway.domain.ussd import BadRequest
from ussd_gateway.http.providers.base import bad_request

log = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
PREFIX = "/ussd/"
SMS_PREFIX = "/sms/"


def provider_of(path: str) -> tuple[str, list[str]] | None:
    """``/ussd/<name>/<rest…>`` -> (name, rest); None for any other path."""
    if not path.startswith(PREFIX):
        return None
    segments = path[len(PREFIX) :].split("/")
    return (segments[0], segments[1:]) if segments[0] else None


@dataclass(frozen=True, slots=True)
class Caller:
    """Which route group a path belongs to, and what follows its route (a secret path first)."""

    route: str
    """``/ussd/<name>`` or ``/sms/<callback>``: how warnings and logs name it."""
    setting: str
    """Where its rules are configured: ``providers.<name>`` or ``sms.auth``."""
    rest: list[str]


OPEN_SMS_RISKS = {
    "/sms/inbound": "anyone can submit, opt out and have texts sent under any number",
    "/sms/delivery": "anyone can forge delivery reports",
}
"""What an open SMS callback lets anyone do: said in the start-up warning."""


def caller_of(path: str) -> Caller | None:
    """The route group of a webhook path; None for any other path."""
    parsed = provider_of(path)
    if parsed is not None:
        name, rest = parsed
        return Caller(f"{PREFIX}{name}", f"providers.{name}", rest)
    if path.startswith(SMS_PREFIX):
        callback, *rest = path[len(SMS_PREFIX) :].split("/")
        if callback:
            return Caller(f"{SMS_PREFIX}{callback}", "sms.auth", rest)
    return None


def rules_for(config: GuardConfig, caller: Caller) -> ProviderAuth | None:
    """The configured rules of ``caller``'s group; None: anyone may call."""
    if caller.setting == "sms.auth":
        return config.sms
    return config.provider(caller.route[len(PREFIX) :])


def same(given: str, expected: str) -> bool:
    """Constant-time comparison, so response times leak nothing about the secret."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _address(value: str) -> Address | None:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 caller
    return address


def _within(address: Address | None, networks: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(login, password) from an ``Authorization: Basic …`` header; None if absent or garbled."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, colon, password = decoded.partition(":")
    return (login, password) if colon else None


def resolve_client(
    peer: str, forwarded_for: Iterable[str], trusted_proxies: Iterable[Network]
) -> Address | None:
    """The caller's address: the direct peer, unless it is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read from the right (each proxy appends the
    address it saw) and the first address that is not itself a trusted proxy is the client; an
    untrusted peer's ``X-Forwarded-For`` is ignored, since anyone can write that header.
    """
    trusted = tuple(trusted_proxies)
    client = _address(peer)
    if not _within(client, trusted):
        return client
    chain = [part.strip() for header in forwarded_for for part in header.split(",")]
    for hop in reversed([part for part in chain if part]):
        client = _address(hop)
        if not _within(client, trusted):
            return client  # None when garbage: refused by any allowlist
    return client


def client_address(request: web.Request, auth: ProviderAuth) -> Address | None:
    return resolve_client(
        request.remote or "", request.headers.getall("X-Forwarded-For", []), auth.trusted_proxies
    )


def refusal(request: web.Request, auth: ProviderAuth, rest: list[str]) -> web.Response | None:
    """A bare 403 for a foreign network, a bare 401 for missing or wrong credentials; ``rest``:
    the path after the route, the secret path segment first."""
    if auth.allow and not _within(client_address(request, auth), auth.allow):
        return web.Response(status=403)
    if auth.path_token is not None:
        if not rest or not same(rest[0], auth.path_token):
            return web.Response(status=401)
    if auth.basic is not None:
        given = basic_credentials(request.headers.get(hdrs.AUTHORIZATION, ""))
        login, password = given or ("", "")
        # both comparisons always run: no timing hint about which one failed
        right = same(login, auth.basic.username) & same(password, auth.basic.password)
        if given is None or not right:
            return web.Response(status=401, headers={hdrs.WWW_AUTHENTICATE: 'Basic realm="ussd"'})
    return None


def webhook_middleware(config: GuardConfig) -> web.Middleware:
    """Authenticate webhook callers, cap body size, and turn a BadRequest into a 400."""
    max_body = config.limits.max_body

    @web.middleware
    async def guard_webhooks(request: web.Request, handler: Handler) -> web.StreamResponse:
        caller = caller_of(request.path)
        if caller is None:
            return await handler(request)
        auth = rules_for(config, caller)
        if auth is not None:
            refused = refusal(request, auth, caller.rest)
            if refused is not None:
                log.warning("refused %s caller: %d", caller.route, refused.status)
                return refused
        if request.content_length is not None and request.content_length > max_body:
            return web.Response(
                status=400, text=f"bad request: body larger than {max_body} bytes\n"
            )
        try:
            return await handler(request)
        except BadRequest as exc:
            return bad_request(exc)

    return guard_webhooks


def warn_open_webhooks(app: web.Application, config: GuardConfig) -> None:
    """Say at start which webhooks anyone on the internet may drive, each by its route."""
    names: set[str] = set()
    sms: set[str] = set()
    for resource in app.router.resources():
        caller = caller_of(resource.canonical)
        if caller is None:
            continue
        if caller.setting == "sms.auth":
            sms.add(caller.route)
        else:
            names.add(caller.route[len(PREFIX) :])
    if any(name.startswith("{") for name in names):  # one route serves every adapter
        from ussd_gateway.http.providers import ADAPTERS

        names = {name for name in names if not name.startswith("{")} | set(ADAPTERS)
    for name in sorted(names):
        if config.provider(name) is None or config.providers[name].open:
            log.warning(
                "webhook %s%s is unauthenticated: configure providers.%s in gateway.yaml",
                PREFIX,
                name,
                name,
            )
    if config.sms is None or config.sms.open:
        for route in sorted(sms):
            log.warning(
                "SMS callback %s is unauthenticated: %s; configure sms.auth in gateway.yaml",
                route,
                OPEN_SMS_RISKS.get(route, "anyone can call it"),
            )
