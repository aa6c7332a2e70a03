r"""GovESB signatures and payload encryption, byte for byte as the bus's public connectors do them.

Signatures are ECDSA with SHA-256 over the UTF-8 bytes of an envelope's ``data``, DER-encoded,
base64. Keys are EC keys in PEM, or the bare base64 DER (PKCS#8 private, X.509
SubjectPublicKeyInfo public) that those connectors pass around.

What the signed bytes are (the connectors' sources, read, not copied):

- ``LarryMatrix/govesb-connector-js`` ``GovEsbHelper.js``: ``#createJsonRequest`` signs
  ``JSON.stringify(data)``; ``verifyThenReturnData`` verifies
  ``JSON.stringify(JSON.parse(body).data)``, i.e. the verifier *re-serialises* what it
  parsed. ``GovEsbHelper 1.java`` does the same with Jackson (``createJsonRequest`` signs
  ``ObjectNode.toString()``, ``verifyThenReturnData`` verifies ``node.get("data").toString()``).
  The PHP ``EsbHelper.php`` (``moris-mwijage/GovESB-NIDA``, ``getSignedPayload``) verifies the
  raw bytes as sent.
- So the bytes we sign must be a fixed point of every re-serialisation: what JS's
  ``JSON.stringify(JSON.parse(x))`` and Jackson's ``readTree(x).toString()`` give back is ``x``.
  :func:`canonical_json` produces them: no whitespace, keys in insertion order except that
  keys which are JavaScript array indices (``"0"``, ``"17"``: canonical decimal, below 2**32-1)
  come first in ascending numeric order, as JS objects enumerate them (Jackson keeps the order
  it read, so it agrees); non-ASCII written as itself, UTF-8; the escapes JSON.stringify uses
  (``\"``, ``\\``, ``\b\f\n\r\t``, other control characters ``\u00xx``).
- Numbers: JS writes ``1.0`` as ``1`` and ``1.5e-7`` as ``1.5e-7``; Jackson reads ``1`` as an
  integer and writes ``1.5e-7`` back as ``1.5E-7``; Python writes ``1.0`` and ``1.5e-07``. Only
  integers in JavaScript's safe range (magnitude below 2**53) are written identically by all
  three, so :func:`canonical_payload` turns an integral float into that integer, and any other
  float or a larger integer into a string in JavaScript's own notation (``"1.5e-7"``, ``"0.1"``):
  the value survives, and every signer and verifier sees the same bytes. NaN and infinities
  are refused (JSON has no spelling for them).
- Not confirmed: Jackson's case for ``\u00xx`` escapes of control characters (JS writes
  lower case; Jackson is believed to write upper case), so a control character other than
  ``\b\f\n\r\t`` in a payload may fail a Java verifier that re-serialises; a string with
  a lone surrogate is refused rather than guessed at.

Encryption (``encrypt`` / ``decrypt``), from ``GovEsbHelper.js`` ``encrypt``/``decrypt`` and
``GovEsbHelper 1.java`` ``encrypt``/``decrypt``/``hkdf``: an ephemeral EC key on the recipient
key's curve; ECDH with the recipient's public key; HKDF-SHA256 over the shared secret with a
salt of 32 zero bytes (JS; Java passes no salt, which HKDF treats the same) and info
``aes-encryption`` to a 32-byte key; AES-256-GCM with a random 12-byte IV and a 16-byte tag; the
result is ``{"ephemeralKey": base64(PEM of the ephemeral SubjectPublicKeyInfo), "iv":
base64(iv), "encryptedData": base64(tag || ciphertext)}`` (tag first, "to match Java
packaging"). How an encrypted body travels: ``japhari/govesb-basic-test`` ``server.js`` passes
``helper.encrypt(body, key)`` as the request body, so it becomes ``esbBody`` itself, and the
receiving side decrypts ``esbBody``. The plaintext is UTF-8 (JS ``Buffer.from(string)``; Java
``getBytes()`` with the platform charset, UTF-8 on the bus's servers is assumed).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SIGNATURE_ALGORITHM = ec.ECDSA(hashes.SHA256())
SAFE_INTEGER = 2**53 - 1
"""JavaScript's ``Number.MAX_SAFE_INTEGER``: larger integers do not survive ``JSON.parse``."""
_ARRAY_INDEX_LIMIT = 2**32 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnusableKey(ValueError):
    """A key that cannot be used: unreadable, not EC, or on another curve than configured."""


class Unsignable(ValueError):
    """A payload value that no canonical form can carry (NaN, a lone surrogate, an object)."""


# --------------------------------------------------------------------------- canonical JSON


def js_number(value: float) -> str:
    """``value`` as JavaScript's ``Number.prototype.toString()`` writes it (``1``, ``1.5e-7``)."""
    if value != value or value in (float("inf"), float("-inf")):
        return "null"  # what JSON.stringify writes for them
    if value == 0:
        return "0"
    # repr is the shortest round-tripping decimal, the same digits ECMAScript asks for.
    _, digits_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digits_tuple))
    size, point = len(digits), int(exponent) + len(digits)
    prefix = "-" if value < 0 else ""
    if size <= point <= 21:
        return prefix + digits + "0" * (point - size)
    if 0 < point <= 21:
        return prefix + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return prefix + "0." + "0" * -point + digits
    power = point - 1
    mantissa = digits if size == 1 else digits[0] + "." + digits[1:]
    return f"{prefix}{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"


def _is_array_index(key: str) -> bool:
    return (
        key.isascii()
        and key.isdigit()
        and (key == "0" or key[0] != "0")
        and int(key) < _ARRAY_INDEX_LIMIT
    )


def js_key_order(keys: list[str]) -> list[str]:
    """The order a JavaScript object enumerates ``keys`` in: array indices first, ascending."""
    indices = sorted((key for key in keys if _is_array_index(key)), key=int)
    if not indices:
        return keys
    return indices + [key for key in keys if not _is_array_index(key)]


def _js_string(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    # JSON.stringify escapes lone surrogates; json.dumps would leave them unencodable.
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


def js_stringify(value: Any) -> str:
    """What JavaScript's ``JSON.stringify`` makes of ``value`` once parsed (JSON types only)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, Mapping):
        keys = js_key_order([str(key) for key in value])
        items = {str(key): item for key, item in value.items()}
        members = (_js_string(key) + ":" + js_stringify(items[key]) for key in keys)
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(js_stringify(item) for item in value) + "]"
    raise Unsignable(f"a {type(value).__name__} has no JSON form")


def canonical_payload(value: Any, where: str = "payload") -> Any:
    """``value`` with every number in a form JS, Java and Python write alike (see the module).

    Integral floats become integers, other floats and integers beyond JavaScript's safe range
    become strings in JavaScript's notation; objects get JavaScript's key order. Unsignable
    (naming where) for NaN, infinities, lone surrogates and non-JSON types.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise Unsignable(f"{where} holds a lone surrogate, which has no UTF-8 form")
        return value
    if isinstance(value, int):
        return value if abs(value) <= SAFE_INTEGER else str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Unsignable(f"{where} is {value}, which JSON cannot carry")
        if value.is_integer() and abs(value) <= SAFE_INTEGER:
            return int(value)
        return js_number(value)
    if isinstance(value, Mapping):
        items: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, str | int):
                raise Unsignable(f"{where} has a key that is not a string: {key!r}")
            name = str(key)
            if name in items:
                raise Unsignable(f"{where} has the key {name!r} twice")
            items[name] = canonical_payload(item, f"{where}.{name}")
        return {key: items[key] for key in js_key_order(list(items))}
    if isinstance(value, list | tuple):
        return [canonical_payload(item, f"{where}[{index}]") for index, item in enumerate(value)]
    raise Unsignable(f"{where} is a {type(value).__name__}, which has no JSON form")


def canonical_json(value: Any) -> bytes:
    """The exact bytes that are signed: JSON.stringify's output for the canonical payload."""
    return js_stringify(canonical_payload(value)).encode("utf-8")


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


def open_envelope(
    key: ec.EllipticCurvePublicKey, body: bytes
) -> tuple[dict[str, Any] | None, str | None]:
    """A signed ``{"data": {...}, "signature": ...}``'s ``data`` if it verifies, else why not
    (a predicate for "reply ..." or "push ...").

    Verified the way the JS and Java connectors verify (over the re-serialised ``data``), or
    the PHP one (over ``data``'s bytes as sent), so a signer of any of them is accepted.
    """
    try:
        envelope = json.loads(body)
    except ValueError:
        return None, "is not JSON"
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict):
        return None, "is not a GovESB envelope (no data object)"
    if "signature" not in envelope:
        return None, "has no signature"
    data, signature = envelope["data"], envelope["signature"]
    if verify(key, js_stringify(data).encode("utf-8"), signature):
        return data, None
    try:
        raw = raw_member(body.decode("utf-8"), "data")
    except UnicodeDecodeError:  # json.loads also reads UTF-16 and UTF-32; the signers write UTF-8
        raw = None
    if raw is not None and verify(key, raw.encode("utf-8"), signature):
        return data, None
    return None, "signature does not verify with the bus's public key"


# --------------------------------------------------------------------------- encryption

ENCRYPTION_INFO = b"aes-encryption"
_SALT = bytes(32)
_IV_SIZE = 12
_TAG_SIZE = 16
ENCRYPTED_FIELDS = ("ephemeralKey", "iv", "encryptedData")


class Undecryptable(ValueError):
    """An encrypted body that cannot be opened with our key (its text is safe to show)."""


def _aes_key(shared_secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=ENCRYPTION_INFO).derive(
        shared_secret
    )


def encrypt(plaintext: bytes, recipient: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """``plaintext`` sealed for ``recipient`` the way the connectors' ``encrypt`` seals it."""
    ephemeral = ec.generate_private_key(recipient.curve)
    key = _aes_key(ephemeral.exchange(ec.ECDH(), recipient))
    iv = os.urandom(_IV_SIZE)
    sealed = AESGCM(key).encrypt(iv, plaintext, None)  # ciphertext || tag
    pem = ephemeral.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "ephemeralKey": base64.b64encode(pem).decode("ascii"),
        "iv": base64.b64encode(iv).decode("ascii"),
        "encryptedData": base64.b64encode(sealed[-_TAG_SIZE:] + sealed[:-_TAG_SIZE]).decode(
            "ascii"
        ),
    }


def is_encrypted(value: object) -> bool:
    """True for an object shaped like the connectors' encrypted body."""
    return isinstance(value, Mapping) and all(
        isinstance(value.get(name), str) for name in ENCRYPTED_FIELDS
    )


def decrypt(sealed: Mapping[str, Any], key: ec.EllipticCurvePrivateKey) -> bytes:
    """The plaintext of an encrypted body addressed to ``key``; Undecryptable if it is not."""
    if not is_encrypted(sealed):
        raise Undecryptable("encrypted body needs ephemeralKey, iv and encryptedData strings")
    try:
        pem = base64.b64decode(sealed["ephemeralKey"], validate=True)
        iv = base64.b64decode(sealed["iv"], validate=True)
        data = base64.b64decode(sealed["encryptedData"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Undecryptable("encrypted body is not base64") from exc
    if len(iv) != _IV_SIZE or len(data) < _TAG_SIZE:
        raise Undecryptable("encrypted body has a wrong-sized iv or data")
    try:
        ephemeral = load_public_key(pem, curve=key.curve.name)
        aes_key = _aes_key(key.exchange(ec.ECDH(), ephemeral))
        return AESGCM(aes_key).decrypt(iv, data[_TAG_SIZE:] + data[:_TAG_SIZE], None)
    except UnusableKey as exc:
        raise Undecryptable(f"encrypted body's ephemeral key: {exc}") from exc
    except InvalidTag as exc:
        raise Undecryptable("encrypted body does not open with our key (tag mismatch)") from exc
    except ValueError as exc:
        raise Undecryptable(f"encrypted body cannot be opened: {exc}") from exc
