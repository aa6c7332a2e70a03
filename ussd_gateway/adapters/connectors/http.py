"""``type: http``: one JSON request per attempt to a backend's URL, with its auth and template.

Configuration (``backends.<name>``)::

    url: http://127.0.0.1:8090/feedback      # BACKEND_<NAME>_URL overrides
    method: POST
    timeout: 10                              # seconds for the whole request
    headers: {X-Source: ussd}
    auth: bearer | basic | hmac | none       # default: hmac if a secret is set, else bearer if a
                                             # token is set, else none
    token: ...                               # BACKEND_<NAME>_TOKEN (bearer)
    secret: ...                              # BACKEND_<NAME>_SECRET (hmac key, basic password)
    username: ...                            # basic
    signature_header: X-Signature            # hmac: header carrying "<prefix><hex digest>"
    signature_prefix: "sha256="
    payload:                                 # optional; default Delivery.as_payload()
      ref: "{{ reference }}"
      text: "{{ data.body }}"
      fields: "{{ data }}"                   # a lone expression keeps its type (a mapping here)
    case_field: case_number                  # reply JSON key holding the backend's case number
    path: /{control_number}                  # fetch screens: appended to url, each {field} one
                                             # URL-encoded path segment (adapters/fetch/http.py)

Every request carries ``Idempotency-Key: <reference>``; the HMAC covers the exact body bytes.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal

import aiohttp

from ussd_gateway.adapters.connectors.base import AttemptResult, Connector, Delivery, Outcome
from ussd_gateway.adapters.connectors.payload import SHAPE, BadTemplate, PayloadTemplate
from ussd_gateway.config.backends import COMMON_KEYS, HTTP_URL, BackendConfig, env_prefix
from ussd_gateway.config.kinds import one_of
from ussd_gateway.config.loader import FAILED, Reader, setting

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CASE_FIELDS = ("case_number", "case", "case_id", "remote_id", "id")
"""Reply keys read for the backend's own case number, first found wins."""
RETRYABLE_4XX = frozenset({408, 425, 429})
MAX_ERROR = 200


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` with ``secret`` (what the receiver recomputes)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class HttpConfig:
    """A ``type: http`` backend's own keys (``BACKEND_<NAME>_URL``/``_TOKEN``/``_SECRET`` win)."""

    url: Annotated[str, HTTP_URL] | None = None
    """Required, from the file or the environment."""
    method: Annotated[str, one_of(*METHODS, fold=True)] = "POST"
    timeout: float = field(default=10.0, metadata=setting(file=False))
    """The backend's ``timeout`` (seconds for the whole request)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: Literal["none", "bearer", "basic", "hmac"] | None = None
    """Unset: hmac if a secret is set, else bearer if a token is, else none."""
    token: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    username: str | None = None
    signature_header: str = "X-Signature"
    signature_prefix: str = "sha256="
    case_field: str | None = None
    payload: Annotated[Any, SHAPE] = field(default=None, repr=False)
    """The body's template; unset: ``Delivery.as_payload()``."""
    path: str | None = None
    """For ``fetch`` screens: appended to ``url``; ``{field}`` is a request field, encoded as one
    path segment. Fields it does not name go in the query (GET, DELETE) or the JSON body."""


def read_config(backend: BackendConfig) -> tuple[HttpConfig, PayloadTemplate | None]:
    """The backend's keys checked, its payload compiled; ConfigError with every problem."""
    prefix = env_prefix(backend.name)
    path = backend.path
    reader = Reader(backend.source, backend.env)
    config = reader.section(
        HttpConfig,
        backend.options,
        path,
        given={"timeout": backend.timeout},
        env_names={"url": f"{prefix}URL", "token": f"{prefix}TOKEN", "secret": f"{prefix}SECRET"},
        siblings=COMMON_KEYS,
    )
    template = None
    if config is not FAILED:
        auth = config.auth or ("hmac" if config.secret else "bearer" if config.token else "none")
        config = replace(config, auth=auth)
        if config.url is None:
            reader.wrong(f"{path}.url", f"an http(s) URL (or {prefix}URL)", None)
        if auth == "hmac" and not config.secret:
            reader.wrong(f"{path}.secret", f"a secret for auth hmac (or {prefix}SECRET)", None)
        if auth == "basic" and not config.username:
            reader.wrong(f"{path}.username", "a user name for auth basic", None)
        if config.payload is not None:
            try:
                template = PayloadTemplate(config.payload, f"{path}.payload")
            except BadTemplate as exc:
                reader.problem(exc.where, f"bad template: {exc.error}")
    reader.done()
    return config, template


def auth_headers(config: HttpConfig, body: bytes) -> dict[str, str]:
    """The configured headers with the backend's auth: for deliveries and fetches alike."""
    headers = dict(config.headers)
    if config.auth == "bearer" and config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    elif config.auth == "basic":
        pair = f"{config.username}:{config.secret or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif config.auth == "hmac" and config.secret:
        headers[config.signature_header] = config.signature_prefix + sign(config.secret, body)
    return headers


class HttpConnector(Connector):
    def __init__(
        self,
        name: str,
        config: HttpConfig,
        payload: PayloadTemplate | None,
        *,
        client: aiohttp.ClientSession,
    ) -> None:
        self.name = name
        self.config = config
        self._payload = payload
        self._client = client

    def body(self, delivery: Delivery) -> bytes:
        default = delivery.as_payload()
        if self._payload is None:
            document: Any = default
        else:
            variables = {**default, "backend": delivery.backend, "attempt": delivery.attempt}
            document = self._payload.render(variables)
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    def headers(self, delivery: Delivery, body: bytes) -> dict[str, str]:
        return {
            **auth_headers(self.config, body),
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.reference,
        }

    async def deliver(self, delivery: Delivery) -> AttemptResult:
        body = self.body(delivery)
        started = time.perf_counter()

        def elapsed() -> float:
            return round((time.perf_counter() - started) * 1000, 1)

        try:
            async with self._client.request(
                self.config.method,
                self.config.url,
                data=body,
                headers=self.headers(delivery, body),
                timeout=aiohttp.ClientTimeout(total=self.config.timeout),
                allow_redirects=False,
            ) as response:
                text = await response.text(errors="replace")
                return self._classify(response, text, elapsed())
        except TimeoutError:
            return AttemptResult(
                Outcome.RETRY, error=f"timeout after {self.config.timeout:g}s", latency_ms=elapsed()
            )
        except aiohttp.ClientError as exc:
            return AttemptResult(
                Outcome.RETRY, error=_one_line(f"{type(exc).__name__}: {exc}"), latency_ms=elapsed()
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a connector reports trouble, it never raises it
            return AttemptResult(
                Outcome.RETRY, error=_one_line(f"{type(exc).__name__}: {exc}"), latency_ms=elapsed()
            )

    def _classify(
        self, response: aiohttp.ClientResponse, text: str, latency: float
    ) -> AttemptResult:
        status = response.status
        if 200 <= status < 300:
            return AttemptResult(
                Outcome.DELIVERED,
                status_code=status,
                latency_ms=latency,
                remote_id=self._case_number(text),
            )
        error = _one_line(f"HTTP {status}: {text}") if text.strip() else f"HTTP {status}"
        if status >= 500 or status in RETRYABLE_4XX:
            return AttemptResult(
                Outcome.RETRY,
                status_code=status,
                error=error,
                latency_ms=latency,
                retry_after=retry_after(response.headers.get("Retry-After")),
            )
        return AttemptResult(Outcome.FAILED, status_code=status, error=error, latency_ms=latency)

    def _case_number(self, text: str) -> str | None:
        try:
            document = json.loads(text)
        except ValueError:
            return None
        if not isinstance(document, Mapping):
            return None
        for key in (self.config.case_field,) if self.config.case_field else CASE_FIELDS:
            value = document.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                return str(value)[:100]
        return None


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def check(backend: BackendConfig) -> None:
    read_config(backend)


def build(backend: BackendConfig, *, client: aiohttp.ClientSession) -> HttpConnector:
    """The connector for ``backend`` (its environment overrides already in it)."""
    config, template = read_config(backend)
    return HttpConnector(backend.name, config, template, client=client)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 1] + "…"
