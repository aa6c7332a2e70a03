"""Requests from the bus to the gateway (status pushes): believed only when the bus signed them.

An institution behind GovESB reports a submission's progress through the bus, which POSTs to
``/backends/<name>/status`` the envelope its connectors use in both directions::

    {"data": {...}, "signature": "<base64 DER ECDSA-SHA256 by the bus's key>"}

What this rests on (public code, read, not copied; there is no official spec):

- The envelope and how it is verified: ``LarryMatrix/govesb-connector-js`` ``GovEsbHelper.js``
  ``verifyThenReturnData`` (used for received pushes by ``japhari/govesb-basic-test``
  ``server.js`` route ``/esb-test/push-test-receive``), ``GovEsbHelper 1.java`` of the same name,
  ``SoftmedTanzania/govesb-mediator`` ``ReceivePostUpdatesFromGovesbOrchestrator`` (answers 401
  when ``ESBHelper.verifyAndExtractData`` fails). The signature is checked over
  ``JSON.stringify(data)`` and, failing that, over ``data``'s bytes as sent (PHP's way); see
  ``govesb_crypto.open_envelope``.
- What ``data`` holds: the Python sample ``LarryMatrix/govesb``
  ``sample-govesb-consumer/receive_from_govesb.py`` has the payload itself as ``data``;
  ``server.js``'s ``/esb-test/producer-sync-test`` reads ``data.esbBody``. So the report is
  ``data.esbBody`` when ``data`` has one, else ``data``; the report is the same
  ``{"reference", "status", "note"}`` every backend sends.
- An encrypted report (``esbBody`` shaped ``{"ephemeralKey", "iv", "encryptedData"}``, sealed to
  our public key as ``server.js`` seals replies) is opened with our private key, the one we sign
  with, as the connectors' ``decrypt`` does.

Not confirmed: whether the bus expects a signed ``{"data": {"success": ...}, "signature"}``
acknowledgement (``server.js`` sends one; the mediator sends an unsigned one): we answer as to
any backend. A signature covers ``data`` only, with no time or nonce, so a captured push can be
replayed; a replayed status report only sets the status it already set.

For a ``govesb`` backend the bus's signature is the only credential: its ``BACKEND_<NAME>_TOKEN``
and ``_SECRET`` are our client secret and signing key, not something the bus would present.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from ussd_gateway.adapters.connectors import govesb, govesb_crypto
from ussd_gateway.config.backends import ForwardingConfig


class PushRefused(Exception):
    """A push the gateway will not act on; ``status`` is the HTTP answer, the text its reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class PushVerifier:
    """One govesb backend's keys for what the bus sends us."""

    bus_public_key: ec.EllipticCurvePublicKey = field(repr=False)
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    async def report(self, body: bytes) -> bytes:
        """The status report inside a verified push (decrypted if it came encrypted).

        PushRefused(401) unless the bus's signature verifies; PushRefused(400) for a signed push
        whose encrypted report does not open with our key.
        """
        data, why_not = govesb_crypto.open_envelope(self.bus_public_key, body)
        if data is None:
            raise PushRefused(401, f"push {why_not}")
        inner = data["esbBody"] if "esbBody" in data else data
        if govesb_crypto.is_encrypted(inner):
            try:
                # ECDH on secp256k1 is about a millisecond: not on the event loop
                return await asyncio.to_thread(govesb_crypto.decrypt, inner, self.private_key)
            except govesb_crypto.Undecryptable as exc:
                raise PushRefused(400, str(exc)) from exc
        return json.dumps(inner, ensure_ascii=False).encode("utf-8")


def push_verifiers(config: ForwardingConfig) -> Mapping[str, PushVerifier]:
    """A verifier per govesb backend, keys read now (at start-up, not on the event loop)."""
    verifiers: dict[str, PushVerifier] = {}
    for name, backend in config.backends.items():
        if backend.type == "govesb":
            loaded = govesb.read_config(backend)
            verifiers[name] = PushVerifier(loaded.bus_public_key, loaded.private_key)
    return verifiers
