"""A stand-in Government Enterprise Service Bus: a real aiohttp server on 127.0.0.1.

It behaves like the bus as its public client libraries describe it: an OAuth2 token endpoint
that checks client credentials (form and basic auth) and issues short-lived tokens, and
``/engine/esb/push-request`` / ``/engine/esb/request`` endpoints that want a bearer token, verify
the caller's ECDSA-SHA256 signature over the compact JSON of ``data`` with the caller's public key,
and answer with ``data`` signed by the bus's own key (generated per instance; never a file).

Switches let a test make it misbehave: ``revoke_tokens()`` (next request gets 401),
``reply_signature`` (``valid``; ``as-sent``: pretty-printed and signed over the bytes sent;
``forged``, ``tampered``, ``missing``), ``success`` and
``failure_message``, ``status`` (e.g. 500), ``delay`` (seconds before answering), ``raw_reply``
(bytes sent as they are, e.g. not JSON).

Pulls (``/engine/esb/request`` with ``apiCode``) are answered by ``lookup`` when a test sets it:
the pull's ``esbBody`` in, the institution's document out (sent as the reply's ``esbBody``), or
None for "no such record" (``success: false``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def new_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256K1())


def private_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def compact(value: Any) -> bytes:
    """How the bus's Java/JS code serialises ``data`` before signing or verifying it, for JSON
    without floats or array-index keys (which the gateway's canonical bytes never have)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class Received:
    """One accepted request, as the institution behind the bus would see it."""

    code_field: str
    code: str
    esb_body: Any
    idempotency_key: str | None


@dataclass
class StandInBus:
    client_id: str
    client_secret: str
    client_public_key: ec.EllipticCurvePublicKey
    api_code: str = "FEEDBACK-INTAKE"
    token_lifetime: float = 60.0
    key: ec.EllipticCurvePrivateKey = field(default_factory=new_key)

    reply_signature: str = "valid"
    success: bool = True
    failure_message: str = "Rejected by the institution"
    status: int | None = None
    delay: float = 0.0
    raw_reply: bytes | None = None
    lookup: Callable[[Any], Any] | None = None

    token_calls: int = 0
    requests: int = 0
    rejected_signatures: int = 0
    received: list[Received] = field(default_factory=list)
    _tokens: dict[str, float] = field(default_factory=dict)
    _server: TestServer | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> StandInBus:
        app = web.Application()
        app.router.add_post("/oauth/token", self._token)
        app.router.add_post("/engine/esb/push-request", self._push)
        app.router.add_post("/engine/esb/request", self._pull)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    def url(self, path: str) -> str:
        assert self._server is not None
        return str(self._server.make_url(path))

    @property
    def token_url(self) -> str:
        return self.url("/oauth/token")

    @property
    def push_url(self) -> str:
        return self.url("/engine/esb/push-request")

    @property
    def pull_url(self) -> str:
        return self.url("/engine/esb/request")

    @property
    def public_pem(self) -> str:
        return public_pem(self.key)

    def revoke_tokens(self) -> None:
        """Every issued token stops working: the next request gets a 401."""
        self._tokens.clear()

    @property
    def references(self) -> list[str | None]:
        return [item.idempotency_key for item in self.received]

    # ------------------------------------------------------------------ handlers

    async def _token(self, request: web.Request) -> web.Response:
        self.token_calls += 1
        form = await request.post()
        expected = "Basic " + base64.b64encode(
            f"{self.client_id}:{self.client_secret}".encode()
        ).decode("ascii")
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
            or request.headers.get("Authorization") != expected
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_urlsafe(16)
        self._tokens[token] = time.monotonic() + self.token_lifetime
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime}
        )

    async def _push(self, request: web.Request) -> web.Response:
        return await self._engine(request, "pushCode")

    async def _pull(self, request: web.Request) -> web.Response:
        return await self._engine(request, "apiCode")

    async def _engine(self, request: web.Request, code_field: str) -> web.Response:
        self.requests += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ")
        if not authorization.startswith("Bearer ") or self._tokens.get(token, 0) < time.monotonic():
            return web.json_response({"error": "invalid_token"}, status=401)
        if self.status is not None:
            headers = {"Retry-After": "7"} if self.status in (429, 503) else None
            return web.json_response({"error": "bus trouble"}, status=self.status, headers=headers)
        try:
            envelope = json.loads(await request.read())
            data, signature = envelope["data"], envelope["signature"]
            self.client_public_key.verify(base64.b64decode(signature), compact(data), ECDSA_SHA256)
        except (ValueError, KeyError, TypeError, InvalidSignature):
            self.rejected_signatures += 1
            return self._reply({"success": False, "message": "Invalid signature"}, status=400)
        if data.get(code_field) != self.api_code or "esbBody" not in data:
            return self._reply({"success": False, "message": f"Unknown {code_field}"}, status=400)
        if not self.success:
            return self._reply({"success": False, "message": self.failure_message})
        self.received.append(
            Received(
                code_field,
                data[code_field],
                data["esbBody"],
                request.headers.get("Idempotency-Key"),
            )
        )
        if self.raw_reply is not None:
            return web.Response(body=self.raw_reply, content_type="application/json")
        if code_field == "apiCode" and self.lookup is not None:
            found = self.lookup(data["esbBody"])
            if found is None:
                return self._reply({"success": False, "message": "Record not found"})
            return self._reply({"success": True, "esbBody": found})
        return self._reply(
            {
                "success": True,
                "esbBody": {"accepted": True},
                "requestId": f"ESB-{len(self.received)}",
            }
        )

    def _reply(self, data: dict[str, Any], status: int = 200) -> web.Response:
        if self.reply_signature == "as-sent":
            return self._reply_as_sent(data, status)
        signer = self.key if self.reply_signature != "forged" else new_key(self.key.curve)
        signature = base64.b64encode(signer.sign(compact(data), ECDSA_SHA256)).decode()
        if self.reply_signature == "tampered":
            data = {**data, "success": True, "message": "tampered after signing"}
        envelope: dict[str, Any] = {"data": data}
        if self.reply_signature != "missing":
            envelope["signature"] = signature
        return web.Response(
            body=compact(envelope), status=status, content_type="application/json", charset="utf-8"
        )

    def _reply_as_sent(self, data: dict[str, Any], status: int) -> web.Response:
        """Pretty-printed, ASCII-escaped ``data`` signed over exactly the bytes sent."""
        text = json.dumps(data, indent=2)
        signature = base64.b64encode(self.key.sign(text.encode(), ECDSA_SHA256)).decode()
        body = '{\n  "data" : ' + text + ',\n  "signature" : ' + json.dumps(signature) + "\n}"
        return web.Response(text=body, status=status, content_type="application/json")
