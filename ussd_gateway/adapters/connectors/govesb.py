"""The ``govesb`` connector: deliveries through Tanzania's Government Enterprise Service Bus.

One attempt = an OAuth2 client-credentials token (cached, one fetch at a time, refreshed once on
a 401), a signed envelope POSTed to the bus, and the bus's signed reply verified before anything
counts as delivered.

Configuration (a backend entry in ``config/gateway.yaml``'s ``backends:`` with ``type: govesb``):

- ``token_url``: the bus's OAuth2 token endpoint (required).
- ``engine_url``: the full request URL, ``<engine>/push-request`` (we push; the default use) or
  ``<engine>/request`` (required unless ``BACKEND_<NAME>_URL`` is set).
- ``api_code``: the bus's code for the institution's API (required).
- ``mode``: ``push`` or ``pull``; names the code field ``pushCode`` or ``apiCode`` in the envelope.
  Default: ``push`` when the engine URL ends in ``/push-request``, ``pull`` otherwise.
- ``client_id``: our OAuth2 client id (required).
- ``client_secret_file``: a file holding the client secret, or ``BACKEND_<NAME>_TOKEN``.
- ``private_key_file``: our EC private key (unencrypted PEM, or base64 PKCS#8 DER), or
  ``BACKEND_<NAME>_SECRET`` holding the PEM itself (for containers).
- ``public_key_file`` (or ``public_key`` inline: it is published, not secret): the bus's EC
  public key, PEM or the bare base64 X.509 DER the bus hands out.
- ``curve``: optional curve name our private key must be on (e.g. ``secp256k1``, the curve of
  the demo bus public key embedded in ``GovEsbHelper 1.java``, checked by loading it). Unset,
  whatever curve the keys carry is accepted: secp256k1 and P-256 bus keys both appear in the
  public client code.
- ``timeout``: seconds for a whole attempt, token included (default 10).
- ``token_margin``: seconds before a token's ``expires_in`` when it is renewed (default 30,
  at most a tenth of the token's life).
- ``encrypt``: ``true`` for an institution that wants ``esbBody`` encrypted end to end (ECDH,
  HKDF-SHA256, AES-256-GCM, as the bus's JS/Java connectors do it; see ``govesb_crypto``):
  the body is replaced by ``{"ephemeralKey", "iv", "encryptedData"}`` before signing.
- ``recipient_public_key_file`` (or ``recipient_public_key`` inline: it is public): the
  institution's EC public key the body is encrypted to, PEM or bare base64 X.509 DER; required
  with ``encrypt: true`` and refused without it.
- ``payload``: optional template for ``esbBody``: a mapping/list whose strings are sandboxed
  Jinja over the delivery's default payload (``reference``, ``data``, ``phone``...); a string that
  is exactly ``{{ name.path }}`` keeps the value's type. Unset: ``Delivery.as_payload()``.

Secrets never sit in the YAML: an inline ``client_secret`` or ``private_key`` is refused.
Environment: ``BACKEND_<NAME>_URL`` overrides ``engine_url``, ``BACKEND_<NAME>_TOKEN`` the client
secret, ``BACKEND_<NAME>_SECRET`` the private key (PEM text). ``<NAME>`` is the backend's name
upper-cased with anything but letters and digits turned into ``_``. Relative file paths are
taken from the working directory.

Wire format, as found in the bus's public client libraries (no official spec was found):
- ``LarryMatrix/govesb-connector-js`` ``GovEsbHelper.js`` and ``GovEsbHelper 1.java``: token
  request is form ``client_id, client_secret, grant_type=client_credentials`` plus HTTP basic
  auth; the request is ``{"data": {"apiCode"|"pushCode": code, "esbBody": body}, "signature":
  sig}``, ``pushCode`` for ``/push-request`` and ``apiCode`` for ``/request``; ``sig`` is base64
  DER ECDSA-SHA256 (``SHA256withECDSA``) over ``JSON.stringify(data)`` / Jackson's
  ``toString()``: compact, insertion order, non-ASCII unescaped, UTF-8. Replies are
  ``{"data": {"success": bool, "esbBody": ..., "message": (on failure), "requestId": (async
  success)}, "signature": sig}`` and are verified over ``JSON.stringify`` of the parsed
  ``data``, which is what we do; a signature over the exact bytes of ``data`` as sent is
  accepted too, in case the bus serialises differently (spacing, escapes) from its clients.
- ``LarryMatrix/govesb`` ``govesb/services/esb_helper.py`` (Python) agrees on the field names but
  signs a different object than it sends and verifies with ``sort_keys``: we follow the JS/Java
  clients, which are self-consistent.
- The signed bytes are canonical (``govesb_crypto.canonical_json``): what JS's ``JSON.stringify``
  and Jackson write back after parsing them. So an integral float is sent as an integer and any
  other float (or an integer beyond 2**53) as a string in JavaScript's notation.
Not confirmed: that the token reply carries ``expires_in`` (we assume 300 s when absent), and
what HTTP statuses the bus uses for its own errors.

Outcomes: verified ``success: true`` -> DELIVERED; verified ``success: false`` or a plain 4xx ->
FAILED (the bus refuses this payload); 5xx, 408, 429, timeouts, connection errors, token trouble,
a second 401 -> RETRY. A reply that is missing, unparseable or whose signature does not verify is
RETRY, never DELIVERED: a bad signature says something is wrong on the path or with keys,
which operators fix; giving the citizen's submission up at once would lose it, while retries end
in ``dead`` after the give-up age for an operator to see. The bus may have taken the request
already, so a retry can duplicate it: we send ``Idempotency-Key: <reference>`` and the reference
is in the default ``esbBody``, but whether the bus itself honours the header is not confirmed;
the institution behind it should deduplicate on the reference.

Signing and verifying run on the event loop: on secp256k1 each takes about 0.35 ms, on P-256
under 0.1 ms (``benchmarks/govesb_signing.py``), far below what a thread hand-off is worth and
far below a hop's budget even when the worker shares the web process. Encrypting a body
(an ephemeral key and ECDH) takes about 2 ms on secp256k1 and 0.4 ms on P-256, so an encrypting
backend builds its envelope in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec

from ussd_gateway.adapters.connectors import govesb_crypto
from ussd_gateway.adapters.connectors.base import AttemptResult, Connector, Delivery, Outcome
from ussd_gateway.adapters.connectors.payload import SHAPE, BadTemplate, PayloadTemplate
from ussd_gateway.config.backends import COMMON_KEYS, HTTP_URL, BackendConfig, env_prefix
from ussd_gateway.config.kinds import NOT_EMPTY, SECONDS, above
from ussd_gateway.config.loader import ENVIRONMENT, FAILED, Reader, setting

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
DEFAULT_TOKEN_LIFETIME = 300.0
DEFAULT_TOKEN_MARGIN = 30.0
_ERROR_LENGTH = 200


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class GovesbConfig:
    name: str
    token_url: str
    engine_url: str
    api_code: str
    code_field: str
    """``pushCode`` (push-request) or ``apiCode`` (request)."""
    client_id: str
    client_secret: str = field(repr=False)
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    bus_public_key: ec.EllipticCurvePublicKey = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    token_margin: float = DEFAULT_TOKEN_MARGIN
    payload: PayloadTemplate | None = None
    recipient_key: ec.EllipticCurvePublicKey | None = field(default=None, repr=False)
    """Set when ``esbBody`` is sent encrypted to the institution behind the bus."""


CODE = Annotated[str, NOT_EMPTY]
"""An API code or a client id; a number written without quotes is taken as its text."""


@dataclass(frozen=True)
class GovesbOptions:
    """A ``type: govesb`` backend's own keys, as written (files named, not yet read)."""

    token_url: Annotated[str, HTTP_URL]
    api_code: CODE
    client_id: CODE
    engine_url: Annotated[str, HTTP_URL] | None = None
    """Required unless ``BACKEND_<NAME>_URL`` is set (which wins)."""
    mode: Literal["push", "pull"] | None = None
    client_secret_file: str | None = None
    private_key_file: str | None = None
    public_key_file: str | None = None
    public_key: str | None = None
    curve: str | None = None
    token_margin: Annotated[float, SECONDS, above(0)] = DEFAULT_TOKEN_MARGIN
    payload: Annotated[Any, SHAPE] = None
    encrypt: bool = False
    recipient_public_key_file: str | None = None
    recipient_public_key: str | None = None
    client_secret: str | None = field(default=None, repr=False, metadata=setting(file=False))
    """``BACKEND_<NAME>_TOKEN`` only."""
    private_key: str | None = field(default=None, repr=False, metadata=setting(file=False))
    """``BACKEND_<NAME>_SECRET`` only: the PEM itself."""


INLINE_SECRETS = {"client_secret": "TOKEN", "private_key": "SECRET"}
"""Keys refused in the file → the environment suffix that holds them instead."""


def read_options(backend: BackendConfig, reader: Reader) -> GovesbOptions:
    """The backend's keys, typed; problems recorded in ``reader`` (FAILED if any)."""
    prefix = env_prefix(backend.name)
    options = dict(backend.options)
    for inline, suffix in INLINE_SECRETS.items():
        if options.pop(inline, None) is not None:
            reader.problem(
                f"{backend.path}.{inline}",
                f"secrets do not belong in the config file; use {inline}_file or {prefix}{suffix}",
            )
    names = {"engine_url": "URL", "client_secret": "TOKEN", "private_key": "SECRET"}
    return reader.section(
        GovesbOptions,
        options,
        backend.path,
        env_names={key: prefix + suffix for key, suffix in names.items()},
        siblings=COMMON_KEYS,
    )


def check(backend: BackendConfig) -> None:
    reader = Reader(backend.source, backend.env)
    options = read_options(backend, reader)
    if options is not FAILED:
        _required(backend, options, reader)
    reader.done()


def _required(backend: BackendConfig, options: GovesbOptions, reader: Reader) -> None:
    """What may come from the file or the environment: one of them must say it."""
    prefix, path = env_prefix(backend.name), backend.path
    if options.engine_url is None:
        reader.wrong(f"{path}.engine_url", f"an http(s) URL (or {prefix}URL)", None)
    if options.client_secret is None and options.client_secret_file is None:
        reader.wrong(f"{path}.client_secret_file", f"a file (or {prefix}TOKEN)", None)
    if options.private_key is None and options.private_key_file is None:
        reader.wrong(f"{path}.private_key_file", f"a file (or {prefix}SECRET)", None)
    if options.public_key is None and options.public_key_file is None:
        reader.wrong(f"{path}.public_key_file", "a file with the bus's public key", None)
    recipient = options.recipient_public_key or options.recipient_public_key_file
    if options.encrypt and recipient is None:
        reader.wrong(
            f"{path}.recipient_public_key_file",
            "a file with the institution's public key (encrypt is true)",
            None,
        )
    if recipient is not None and not options.encrypt:
        key = (
            "recipient_public_key" if options.recipient_public_key else "recipient_public_key_file"
        )
        reader.problem(f"{path}.{key}", "set encrypt: true to encrypt to it, or remove it")


def read_config(backend: BackendConfig) -> GovesbConfig:
    """Options checked, secrets and keys read and loaded; ConfigError with every problem."""
    reader = Reader(backend.source, backend.env)
    options = read_options(backend, reader)
    if options is FAILED:
        reader.done()
    _required(backend, options, reader)
    reader.done()
    prefix, path = env_prefix(backend.name), backend.path

    def from_file(key: str) -> str | None:
        name = getattr(options, key)
        try:
            return Path(name).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            reader.problem(f"{path}.{key}", f"cannot read {name}: {exc.strerror or exc}")
            return None

    def where(key: str, suffix: str) -> tuple[str, str | None]:
        """The key's line and where it was found (the environment when it won)."""
        if backend.env.get(prefix + suffix):
            return prefix + suffix, ENVIRONMENT
        return f"{path}.{key}", None

    client_secret = options.client_secret
    if client_secret is None and (text := from_file("client_secret_file")) is not None:
        client_secret = text.strip()
        if not client_secret:
            reader.problem(f"{path}.client_secret_file", "the file is empty")
    private_key = public_key = None
    key_text = options.private_key or from_file("private_key_file")
    if key_text is not None:
        try:
            private_key = govesb_crypto.load_private_key(key_text, curve=options.curve)
        except govesb_crypto.UnusableKey as exc:
            line, source = where("private_key_file", "SECRET")
            reader.problem(line, str(exc), where=source)
    public_text = options.public_key or from_file("public_key_file")
    if public_text is not None:
        try:
            public_key = govesb_crypto.load_public_key(public_text)
        except govesb_crypto.UnusableKey as exc:
            key = "public_key" if options.public_key else "public_key_file"
            reader.problem(f"{path}.{key}", str(exc))
    recipient_key = None
    recipient_text = options.recipient_public_key
    if options.encrypt and recipient_text is None and options.recipient_public_key_file:
        recipient_text = from_file("recipient_public_key_file")
    if options.encrypt and recipient_text is not None:
        try:
            recipient_key = govesb_crypto.load_public_key(recipient_text)
        except govesb_crypto.UnusableKey as exc:
            key = (
                "recipient_public_key"
                if options.recipient_public_key
                else "recipient_public_key_file"
            )
            reader.problem(f"{path}.{key}", str(exc).replace("public key", "recipient key", 1))
    payload = None
    if options.payload is not None:
        try:
            payload = PayloadTemplate(options.payload, f"{path}.payload")
        except BadTemplate as exc:  # a Jinja syntax error, reported at start-up
            reader.problem(exc.where, f"bad template: {exc.error}")
    reader.done()  # past it, every value below was found
    mode = options.mode or (
        "push" if urlsplit(options.engine_url).path.rstrip("/").endswith("push-request") else "pull"
    )
    return GovesbConfig(
        name=backend.name,
        token_url=options.token_url,
        engine_url=options.engine_url,
        api_code=options.api_code,
        code_field="pushCode" if mode == "push" else "apiCode",
        client_id=options.client_id,
        client_secret=client_secret,
        private_key=private_key,
        bus_public_key=public_key,
        timeout=backend.timeout,
        token_margin=options.token_margin,
        payload=payload,
        recipient_key=recipient_key,
    )


# --------------------------------------------------------------------------- token


class TokenError(Exception):
    """The token endpoint did not give us a token (its text is safe to show operators)."""


class TokenCache:
    """One bearer token per backend, fetched by one task at a time and kept until near expiry."""

    def __init__(
        self,
        config: GovesbConfig,
        client: aiohttp.ClientSession,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._client = client
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._valid_until = 0.0

    def _current(self) -> str | None:
        if self._token is not None and self._clock() < self._valid_until:
            return self._token
        return None

    async def get(self) -> str:
        token = self._current()
        if token is not None:
            return token
        async with self._lock:
            token = self._current()  # another task may have fetched it while we waited
            if token is None:
                token = await self._fetch()
            return token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after a 401, unless another task already replaced it."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> str:
        config = self._config
        form = {
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "grant_type": "client_credentials",
        }
        basic = base64.b64encode(f"{config.client_id}:{config.client_secret}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        async with self._client.post(config.token_url, data=form, headers=headers) as response:
            body = await response.read()
            if response.status != 200:
                raise TokenError(f"token endpoint answered {response.status}")
        try:
            reply = json.loads(body)
        except ValueError as exc:
            raise TokenError("token endpoint answered something that is not JSON") from exc
        token = reply.get("access_token") if isinstance(reply, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenError("token endpoint reply has no access_token")
        lifetime = reply.get("expires_in", DEFAULT_TOKEN_LIFETIME)
        try:
            lifetime = float(lifetime)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        margin = min(config.token_margin, lifetime / 10)
        self._token, self._valid_until = token, self._clock() + max(lifetime - margin, 0.0)
        return token


# --------------------------------------------------------------------------- connector


def _one_line(text: object) -> str:
    return " ".join(str(text).split())[:_ERROR_LENGTH]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def signed_envelope(config: GovesbConfig, body: Any) -> bytes:
    """``{"data": {<code field>: api_code, "esbBody": body}, "signature"}``, ``body`` encrypted
    first when the backend says so; ``data`` is sent as exactly the bytes that were signed."""
    body = govesb_crypto.canonical_payload(body, "esbBody")
    if config.recipient_key is not None:
        plaintext = govesb_crypto.js_stringify(body).encode("utf-8")
        body = govesb_crypto.encrypt(plaintext, config.recipient_key)
    data = {config.code_field: config.api_code, "esbBody": body}
    signed = govesb_crypto.canonical_json(data)
    signature = govesb_crypto.sign(config.private_key, signed)
    return b'{"data":' + signed + b',"signature":' + json.dumps(signature).encode() + b"}"


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class GovesbConnector(Connector):
    """Signs, sends and verifies; one attempt per :meth:`deliver`, never raising for bus trouble."""

    def __init__(self, config: GovesbConfig, client: aiohttp.ClientSession) -> None:
        self.name = config.name
        self.config = config
        self._client = client
        self.tokens = TokenCache(config, client)

    def envelope(self, delivery: Delivery) -> bytes:
        """The request body; ``data`` is sent as exactly the bytes that were signed."""
        variables = delivery.as_payload()
        body = variables if self.config.payload is None else self.config.payload.render(variables)
        return signed_envelope(self.config, body)

    async def deliver(self, delivery: Delivery) -> AttemptResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.config.timeout):
                result = await self._attempt(delivery)
        except TimeoutError:
            result = AttemptResult(Outcome.RETRY, error=f"timeout after {self.config.timeout:g}s")
        except TokenError as exc:
            result = AttemptResult(Outcome.RETRY, error=_one_line(exc))
        except aiohttp.ClientError as exc:
            result = AttemptResult(
                Outcome.RETRY, error=_one_line(f"connection error: {type(exc).__name__} {exc}")
            )
        except Exception as exc:  # a bug here must not stop the worker: log it, try again later
            log.exception("govesb backend %s: unexpected error", self.name)
            result = AttemptResult(Outcome.RETRY, error=f"unexpected error: {type(exc).__name__}")
        return replace(result, latency_ms=(time.perf_counter() - started) * 1000)

    async def _attempt(self, delivery: Delivery) -> AttemptResult:
        try:
            if self.config.recipient_key is None:
                body = self.envelope(delivery)
            else:  # an ephemeral key and ECDH: a few ms on secp256k1, off the event loop
                body = await asyncio.to_thread(self.envelope, delivery)
        except Exception as exc:  # a payload template or value that cannot become JSON
            error = _one_line(f"cannot build the request: {type(exc).__name__}: {exc}")
            return AttemptResult(Outcome.RETRY, error=error)
        token = await self.tokens.get()
        reply = await self._post(body, token, delivery.reference)
        if reply.status == 401:
            self.tokens.invalidate(token)
            token = await self.tokens.get()
            reply = await self._post(body, token, delivery.reference)
            if reply.status == 401:
                return AttemptResult(
                    Outcome.RETRY, status_code=401, error="bus refused a fresh token (401)"
                )
        return self.judge(reply.status, reply.headers, reply.body)

    async def _post(self, body: bytes, token: str, reference: str) -> _Reply:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Idempotency-Key": reference,
        }
        async with self._client.post(
            self.config.engine_url, data=body, headers=headers
        ) as response:
            return _Reply(response.status, response.headers, await response.read())

    def verified_data(self, body: bytes) -> tuple[dict[str, Any] | None, str | None]:
        """The reply's ``data`` when its signature verifies, else None and why not."""
        data, why_not = govesb_crypto.open_envelope(self.config.bus_public_key, body)
        return data, (None if why_not is None else f"reply {why_not}")

    def judge(self, status: int, headers: Mapping[str, str], body: bytes) -> AttemptResult:
        """Turn the bus's answer into an outcome: only a verified success is a delivery."""
        retry_after = _retry_after(headers)
        if status >= 500 or status in (408, 429):
            return AttemptResult(
                Outcome.RETRY,
                status_code=status,
                error=f"bus answered {status}",
                retry_after=retry_after,
            )
        data, why_not = self.verified_data(body)
        if 400 <= status < 500:
            message = data.get("message") if data else None
            error = f"bus answered {status}" + (f": {_one_line(message)}" if message else "")
            return AttemptResult(Outcome.FAILED, status_code=status, error=_one_line(error))
        if not 200 <= status < 300:
            return AttemptResult(Outcome.RETRY, status_code=status, error=f"bus answered {status}")
        if data is None:
            return AttemptResult(Outcome.RETRY, status_code=status, error=why_not)
        success = data.get("success")
        if success is True:
            request_id = data.get("requestId")
            return AttemptResult(
                Outcome.DELIVERED,
                status_code=status,
                remote_id=str(request_id) if request_id not in (None, "") else None,
            )
        if success is False:
            message = data.get("message") or "no message"
            return AttemptResult(
                Outcome.FAILED, status_code=status, error=_one_line(f"bus refused: {message}")
            )
        return AttemptResult(
            Outcome.RETRY, status_code=status, error="verified reply has no success flag"
        )


def build(backend: BackendConfig, *, client: aiohttp.ClientSession) -> Connector:
    """The connector for ``backend``; ConfigError names the key of every problem."""
    return GovesbConnector(read_config(backend), client)
