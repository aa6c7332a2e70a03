"""One question to a ``type: govesb`` backend: a signed pull request through the bus.

The screen's rendered ``request:`` fields are the ``esbBody`` of a ``{"data": {"apiCode",
"esbBody"}, "signature"}`` envelope signed with the institution-facing key, sent to the
backend's ``engine_url`` (``<engine>/request``) with a bearer token, as deliveries send theirs
(``connectors.govesb``). The reply is believed only when the bus's signature over its ``data``
verifies with the bus's public key: anything else is ``unavailable``, never shown, because a
citizen would act on a bill amount or a status nobody vouched for. A verified ``success: false``
is the institution saying it has no such thing: ``not_found``. A verified ``success: true``
hands its ``esbBody`` (decrypted when it came sealed to our key) to the screen's ``set:``;
without one, ``data`` itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ussd_gateway.adapters.connectors import govesb_crypto
from ussd_gateway.adapters.connectors.govesb import (
    GovesbConfig,
    TokenCache,
    TokenError,
    signed_envelope,
)
from ussd_gateway.adapters.fetch.http import SYSTEM_TROUBLE, BadReply, depth, read_capped
from ussd_gateway.config.fetch import FetchSettings
from ussd_gateway.domain.fetch import Answer, FetchResult


def _unavailable(reason: str) -> FetchResult:
    return FetchResult(Answer.UNAVAILABLE, reason=reason)


@dataclass
class GovesbQuestion:
    """How to ask one ``govesb`` backend; keeps its bearer token between questions."""

    config: GovesbConfig
    settings: FetchSettings
    _tokens: TokenCache | None = field(default=None, repr=False)

    def _token_cache(self, client: aiohttp.ClientSession) -> TokenCache:
        if self._tokens is None:
            self._tokens = TokenCache(self.config, client)
        return self._tokens

    async def ask(
        self, client: aiohttp.ClientSession, fields: Mapping[str, str], seconds: float
    ) -> tuple[FetchResult, bool]:
        """The answer, and whether it says the bus itself is in trouble (for its circuit)."""
        try:
            if self.config.recipient_key is None:
                body = signed_envelope(self.config, dict(fields))
            else:  # an ephemeral key and ECDH: a few ms on secp256k1, off the event loop
                body = await asyncio.to_thread(signed_envelope, self.config, dict(fields))
        except govesb_crypto.Unsignable as exc:
            return _unavailable(f"cannot sign the request: {exc}"), False
        tokens = self._token_cache(client)
        try:
            token = await tokens.get()
            status, reply = await self._post(client, body, token, seconds)
            if status == 401:  # the bus forgot the token before we did: one fresh one
                tokens.invalidate(token)
                status, reply = await self._post(client, body, await tokens.get(), seconds)
        except TokenError as exc:
            return _unavailable(str(exc)), True
        except BadReply as exc:
            return _unavailable(str(exc)), True
        if not 200 <= status < 300:
            trouble = status >= 500 or status in SYSTEM_TROUBLE or status == 401
            return _unavailable(f"bus answered {status}"), trouble
        return await self.judge(reply)

    async def _post(
        self, client: aiohttp.ClientSession, body: bytes, token: str, seconds: float
    ) -> tuple[int, bytes]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
        }
        async with client.post(
            self.config.engine_url,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=seconds),
            allow_redirects=False,
        ) as response:
            if not 200 <= response.status < 300:
                return response.status, b""
            return response.status, await read_capped(response, self.settings.max_reply_bytes)

    async def judge(self, reply: bytes) -> tuple[FetchResult, bool]:
        """A 2xx reply's answer: found only with a verified signature and ``success: true``."""
        try:
            text = reply.decode("utf-8")
        except UnicodeDecodeError:
            return _unavailable("reply is not UTF-8"), True
        if depth(text) > self.settings.max_depth:
            return _unavailable(f"reply nested deeper than {self.settings.max_depth}"), True
        data, why_not = govesb_crypto.open_envelope(self.config.bus_public_key, reply)
        if data is None:
            return _unavailable(f"reply {why_not}"), True
        success = data.get("success")
        if success is False:
            message = " ".join(str(data.get("message") or "no message").split())[:200]
            return FetchResult(Answer.NOT_FOUND, reason=f"bus: {message}"), False
        if success is not True:
            return _unavailable("verified reply has no success flag"), True
        document: Any = data["esbBody"] if data.get("esbBody") is not None else data
        if govesb_crypto.is_encrypted(document):
            try:  # ECDH on secp256k1 is about a millisecond: not on the event loop
                plaintext = await asyncio.to_thread(
                    govesb_crypto.decrypt, document, self.config.private_key
                )
                if depth(plaintext.decode("utf-8")) > self.settings.max_depth:
                    return _unavailable("decrypted reply nested too deeply"), True
                document = json.loads(plaintext)
            except govesb_crypto.Undecryptable as exc:
                return _unavailable(str(exc)), True
            except ValueError:  # UnicodeDecodeError included
                return _unavailable("decrypted reply is not JSON"), True
        return FetchResult(Answer.FOUND, document), False
