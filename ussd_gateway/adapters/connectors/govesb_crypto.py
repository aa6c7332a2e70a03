"""GovESB signatures: ECDSA with SHA-256 over the compact JSON of an envelope's ``data``.

The bus's client libraries (see :mod:`ussd_gateway.forwarding.govesb`) sign the UTF-8 bytes of
``data`` serialised compactly, keys in insertion order, non-ASCII characters written as
themselves; the signature is the DER encoding, base64. Keys are EC keys in PEM, or the bare
base64 DER (PKCS#8 private, X.509 SubjectPublicKeyInfo public) that those libraries pass around.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE_ALGORITHM = ec.ECDSA(hashes.SHA256())


class UnusableKey(ValueError):
    """A key that cannot be used: unreadable, not EC, or on another curve than configured."""


def canonical_json(value: Any) -> bytes:
    """The exact bytes that are signed: compact, key order kept, UTF-8 unescaped."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


def raw_member(text: str, name: str) -> str | None:
    """The exact text of a top-level member's value, as sent (the last one, like ``json.loads``).

    A signer that signs the bytes it sends rather than a compact re-serialisation can be
    verified against this. None when ``text`` is not a JSON object or has no such member.
    """
    found = None
    try:
        index = len(text) - len(text.lstrip(_SPACE))
        if text[index : index + 1] != "{":
            return None
        index += 1
        while True:
            while text[index] in _SPACE:
                index += 1
            if text[index] == "}":
                return found
            key, index = _DECODER.raw_decode(text, index)
            while text[index] in _SPACE:
                index += 1
            if text[index] != ":":
                return None
            index += 1
            while text[index] in _SPACE:
                index += 1
            _, end = _DECODER.raw_decode(text, index)
            if key == name:
                found = text[index:end]
            index = end
            while text[index] in _SPACE:
                index += 1
            if text[index] == ",":
                index += 1
            elif text[index] == "}":
                return found
            else:
                return None
    except (ValueError, IndexError):
        return None


def _der_or_pem(text: str | bytes, label: str) -> tuple[bytes, bool]:
    """Return (bytes, is_pem): PEM passes through; bare base64 DER is decoded."""
    raw = text.encode() if isinstance(text, str) else text
    if b"-----BEGIN" in raw:
        return raw.strip() + b"\n", True
    try:
        return base64.b64decode(b"".join(raw.split()), validate=True), False
    except (binascii.Error, ValueError) as exc:
        raise UnusableKey(f"{label} is neither PEM nor base64 DER") from exc


def _check_curve(
    key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey, curve: str | None, label: str
) -> None:
    if curve is not None and key.curve.name != curve:
        raise UnusableKey(f"{label} is on curve {key.curve.name}, expected {curve}")


def load_private_key(text: str | bytes, *, curve: str | None = None) -> ec.EllipticCurvePrivateKey:
    """Our signing key (unencrypted PEM or base64 PKCS#8 DER); ``curve`` if given must match."""
    data, is_pem = _der_or_pem(text, "private key")
    try:
        key = (
            serialization.load_pem_private_key(data, password=None)
            if is_pem
            else serialization.load_der_private_key(data, password=None)
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise UnusableKey(f"private key cannot be read: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise UnusableKey("private key is not an EC key")
    _check_curve(key, curve, "private key")
    return key


def load_public_key(text: str | bytes, *, curve: str | None = None) -> ec.EllipticCurvePublicKey:
    """The bus's verifying key (PEM or base64 X.509 DER); ``curve`` if given must match."""
    data, is_pem = _der_or_pem(text, "public key")
    try:
        key = (
            serialization.load_pem_public_key(data)
            if is_pem
            else serialization.load_der_public_key(data)
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise UnusableKey(f"public key cannot be read: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UnusableKey("public key is not an EC key")
    _check_curve(key, curve, "public key")
    return key


def sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> str:
    """Base64 of the DER-encoded ECDSA-SHA256 signature of ``message``."""
    return base64.b64encode(key.sign(message, SIGNATURE_ALGORITHM)).decode("ascii")


def verify(key: ec.EllipticCurvePublicKey, message: bytes, signature: object) -> bool:
    """True only for a well-formed base64 DER signature of exactly ``message`` by ``key``."""
    if not isinstance(signature, str) or not signature:
        return False
    try:
        der = base64.b64decode("".join(signature.split()), validate=True)
        key.verify(der, message, SIGNATURE_ALGORITHM)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
