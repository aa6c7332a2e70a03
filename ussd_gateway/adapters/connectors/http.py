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
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ussd_gateway.adapters.connectors.base import AttemptResult, Connector, Delivery, Outcome
from ussd_gateway.adapters.connectors.payload import BadTemplate, PayloadTemplate
from ussd_gateway.config.backends import env_prefix, optional_str
from ussd_gateway.config.settings import ConfigError

AUTH_TYPES = ("none", "bearer", "basic", "hmac")
CASE_FIELDS = ("case_number", "case", "case_id", "remote_id", "id")
"""Reply keys read for the backend's own case number, first found wins."""
RETRYABLE_4XX = frozenset({408, 425, 429})
MAX_ERROR = 200


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` with ``secret`` (what the receiver recomputes)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class HttpConfig:
    url: str
    method: str = "POST"
    timeout: float = 10.0
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: str = "none"
    token: str | None = None
    secret: str | None = None
    username: str | None = None
    signature_header: str = "X-Signature"
    signature_prefix: str = "sha256="
    case_field: str | None = None

    @classmethod
    def parse(cls, name: str, raw: Mapping[str, Any]) -> HttpConfig:
        where = f"backends.{name}"
        url = raw.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise ConfigError(f"{where}: url must be an http(s) URL (or set {env_prefix(name)}URL)")
        token = optional_str(raw.get("token"))
        secret = optional_str(raw.get("secret"))
        auth = str(raw.get("auth") or ("hmac" if secret else "bearer" if token else "none"))
        if auth not in AUTH_TYPES:
            raise ConfigError(f"{where}: auth must be one of {', '.join(AUTH_TYPES)}")
        if auth == "hmac" and not secret:
            raise ConfigError(f"{where}: auth hmac needs a secret ({env_prefix(name)}SECRET)")
        if auth == "basic" and not raw.get("username"):
            raise ConfigError(f"{where}: auth basic needs a username")
        headers = raw.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise ConfigError(f"{where}.headers must be a mapping")
        try:
            return cls(
                url=url,
                method=str(raw.get("method", "POST")).upper(),
                timeout=float(raw.get("timeout", 10.0)),
                headers={str(k): str(v) for k, v in headers.items()},
                auth=auth,
                token=token,
                secret=secret,
                username=optional_str(raw.get("username")),
                signature_header=str(raw.get("signature_header", "X-Signature")),
                signature_prefix=str(raw.get("signature_prefix", "sha256=")),
                case_field=optional_str(raw.get("case_field")),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from exc


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
        config = self.config
        headers = {
            **config.headers,
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.reference,
        }
        if config.auth == "bearer" and config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        elif config.auth == "basic":
            pair = f"{config.username}:{config.secret or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif config.auth == "hmac" and config.secret:
            headers[config.signature_header] = config.signature_prefix + sign(config.secret, body)
        return headers

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


def build(
    name: str, config: Mapping[str, Any], env: Mapping[str, str], *, client: aiohttp.ClientSession
) -> HttpConnector:
    """The connector for backend ``name`` (``env`` overrides are already in ``config``)."""
    http_config = HttpConfig.parse(name, config)
    payload = config.get("payload")
    if payload is not None and not isinstance(payload, Mapping | list):
        raise ConfigError(f"backends.{name}.payload must be a mapping")
    try:
        template = PayloadTemplate(payload, f"backends.{name}.payload") if payload else None
    except BadTemplate as exc:
        raise ConfigError(str(exc)) from exc
    return HttpConnector(name, http_config, template, client=client)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 1] + "…"
