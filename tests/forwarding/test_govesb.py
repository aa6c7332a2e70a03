"""The govesb connector against a stand-in bus that checks our signatures and signs its replies."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import CONFIG, project_settings
from tests.support.govesb_bus import (
    ECDSA_SHA256,
    StandInBus,
    new_key,
    private_pem,
    public_pem,
)
from ussd_gateway.adapters.connectors import govesb, govesb_crypto
from ussd_gateway.adapters.connectors.base import Delivery, Outcome
from ussd_gateway.config.loader import ConfigError

NAME = "institution-x"
SECRET = "s3cret-client-secret"
BODY = "Huduma ya maji si nzuri – tafadhali saidieni 🙏 ñ"  # noqa: RUF001 - non-ASCII on purpose


def delivery(reference: str = "MRJ-2611-0001", phone: str | None = "+255712345678") -> Delivery:
    return Delivery(
        reference=reference,
        service="mrejesho",
        backend=NAME,
        channel="ussd",
        language="sw",
        kind="complaint",
        data={"institution": "DAWASA", "body": BODY},
        phone=phone,
        created_at="2026-11-23T12:00:00Z",
        attempt=1,
    )


@pytest.fixture
def our_key() -> ec.EllipticCurvePrivateKey:
    return new_key()


@pytest.fixture
async def bus(our_key: ec.EllipticCurvePrivateKey) -> AsyncIterator[StandInBus]:
    stand_in = StandInBus(
        client_id="ussd-gateway", client_secret=SECRET, client_public_key=our_key.public_key()
    )
    await stand_in.start()
    yield stand_in
    await stand_in.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def files(tmp_path: Path, our_key: ec.EllipticCurvePrivateKey, bus: StandInBus) -> dict[str, str]:
    paths = {
        "private_key_file": tmp_path / "ours.pem",
        "public_key_file": tmp_path / "bus.pem",
        "client_secret_file": tmp_path / "client_secret",
    }
    paths["private_key_file"].write_text(private_pem(our_key))
    paths["public_key_file"].write_text(bus.public_pem)
    paths["client_secret_file"].write_text(SECRET + "\n")
    return {key: str(path) for key, path in paths.items()}


@pytest.fixture
def config(bus: StandInBus, files: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "govesb",
        "token_url": bus.token_url,
        "engine_url": bus.push_url,
        "api_code": bus.api_code,
        "client_id": bus.client_id,
        **files,
        "timeout": 2,
    }


def backend(config: dict[str, Any], env: dict[str, str] | None = None, name: str = NAME):
    """``backends.<name>`` read by the loader from the shipped file with ``config`` as it."""
    return project_settings(sections={"backends": {name: config}}, env=env).backends[name]


def build(
    config: dict[str, Any],
    env: dict[str, str] | None = None,
    *,
    client: aiohttp.ClientSession,
    name: str = NAME,
) -> govesb.Connector:
    return govesb.build(backend(config, env, name), client=client)


@pytest.fixture
def connector(config: dict[str, Any], http: aiohttp.ClientSession) -> govesb.GovesbConnector:
    built = build(config, {}, client=http)
    assert isinstance(built, govesb.GovesbConnector)
    return built


async def test_delivery_is_verified_by_the_bus(connector, bus):
    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.DELIVERED, result.error
    assert result.status_code == 200
    assert result.remote_id == "ESB-1"
    assert result.latency_ms > 0
    assert bus.rejected_signatures == 0
    [received] = bus.received
    assert received.code_field == "pushCode"
    assert received.code == bus.api_code
    assert received.esb_body == delivery().as_payload()
    assert received.esb_body["data"]["body"] == BODY
    assert received.idempotency_key == "MRJ-2611-0001"


async def test_request_endpoint_gets_api_code(config, http, bus):
    connector = build({**config, "engine_url": bus.pull_url}, {}, client=http)

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.DELIVERED, result.error
    assert [item.code_field for item in bus.received] == ["apiCode"]


async def test_bus_rejects_a_request_signed_with_another_key(config, http, bus, tmp_path):
    stranger = tmp_path / "stranger.pem"
    stranger.write_text(private_pem(new_key()))
    connector = build({**config, "private_key_file": str(stranger)}, {}, client=http)

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.FAILED
    assert "Invalid signature" in (result.error or "")
    assert bus.rejected_signatures == 1
    assert bus.received == []


async def test_token_is_cached_across_deliveries(connector, bus):
    for number in range(3):
        result = await connector.deliver(delivery(f"MRJ-2611-000{number}"))
        assert result.outcome is Outcome.DELIVERED, result.error

    assert bus.token_calls == 1
    assert len(bus.received) == 3


async def test_concurrent_deliveries_fetch_one_token(connector, bus):
    results = await asyncio.gather(
        *(connector.deliver(delivery(f"MRJ-2611-01{number:02}")) for number in range(8))
    )

    assert {result.outcome for result in results} == {Outcome.DELIVERED}
    assert bus.token_calls == 1
    assert len(bus.received) == 8


async def test_token_is_refreshed_on_401_and_the_request_retried_once(connector, bus):
    assert (await connector.deliver(delivery("MRJ-2611-0001"))).outcome is Outcome.DELIVERED
    bus.revoke_tokens()

    result = await connector.deliver(delivery("MRJ-2611-0002"))

    assert result.outcome is Outcome.DELIVERED, result.error
    assert bus.token_calls == 2
    assert bus.requests == 3  # first delivery, the refused one, its retry
    assert bus.references == ["MRJ-2611-0001", "MRJ-2611-0002"]


async def test_an_expiring_token_is_renewed_before_it_is_refused(config, http, bus):
    bus.token_lifetime = 0.5
    connector = build(config, {}, client=http)
    assert (await connector.deliver(delivery("MRJ-2611-0001"))).outcome is Outcome.DELIVERED

    await asyncio.sleep(0.6)
    result = await connector.deliver(delivery("MRJ-2611-0002"))

    assert result.outcome is Outcome.DELIVERED, result.error
    assert bus.token_calls == 2
    assert bus.requests == 2  # no 401 round trip


async def test_a_token_refused_twice_is_retried_later(connector, bus):
    bus.token_lifetime = -1  # every token is dead on arrival

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.RETRY
    assert result.status_code == 401
    assert bus.token_calls == 2
    assert bus.received == []


async def test_wrong_client_secret_is_retried_without_calling_the_engine(config, http, bus):
    connector = build(config, {"BACKEND_INSTITUTION_X_TOKEN": "wrong"}, client=http)

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.RETRY
    assert result.error == "token endpoint answered 401"
    assert bus.requests == 0


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("forged", "signature does not verify"),
        ("tampered", "signature does not verify"),
        ("missing", "no signature"),
    ],
)
async def test_an_unverifiable_reply_is_never_a_delivery(connector, bus, mode, why):
    bus.reply_signature = mode

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.RETRY
    assert why in (result.error or "")
    assert result.remote_id is None


async def test_a_reply_signed_over_the_bytes_as_sent_is_verified(connector, bus):
    bus.reply_signature = "as-sent"

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.DELIVERED, result.error
    assert result.remote_id == "ESB-1"


async def test_a_refusal_signed_over_the_bytes_as_sent_is_a_failure(connector, bus):
    bus.reply_signature = "as-sent"
    bus.success = False

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.FAILED
    assert result.error == "bus refused: Rejected by the institution"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"data":{"a":1},"signature":"x"}', '{"a":1}'),
        ('  {\n "signature" : "x" ,\n "data" :  {"a": [1, "}"]}  \n}', '{"a": [1, "}"]}'),
        ('{"data":{"a":1},"data":{"a":2}}', '{"a":2}'),
        ('{"other":{"data":1}}', None),
        ('{"data":{"a":1}', None),
        ('["data"]', None),
        ("", None),
    ],
)
def test_raw_member_cuts_out_the_value_as_sent(text, expected):
    assert govesb_crypto.raw_member(text, "data") == expected


async def test_a_tampered_refusal_is_not_taken_for_success(connector, bus):
    bus.success = False
    bus.reply_signature = "tampered"  # flips success to true after signing

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.RETRY
    assert "signature does not verify" in (result.error or "")


async def test_success_false_fails_with_the_bus_message(connector, bus):
    bus.success = False
    bus.failure_message = "Taasisi haipokei maoni kwa sasa"

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.FAILED
    assert result.error == "bus refused: Taasisi haipokei maoni kwa sasa"
    assert bus.received == []


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(500, Outcome.RETRY), (503, Outcome.RETRY), (429, Outcome.RETRY), (403, Outcome.FAILED)],
)
async def test_bus_status_codes(connector, bus, status, outcome):
    bus.status = status

    result = await connector.deliver(delivery())

    assert result.outcome is outcome
    assert result.status_code == status
    assert result.error == f"bus answered {status}"
    assert result.retry_after == (7.0 if status in (429, 503) else None)


async def test_a_payload_that_cannot_be_built_is_retried_not_raised(config, http, bus):
    template = {"n": "Maoni: {{ data.missing() }}"}  # valid syntax, fails when rendered
    connector = build({**config, "payload": template}, {}, client=http)

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.RETRY
    assert (result.error or "").startswith("cannot build the request")
    assert bus.requests == 0


async def test_a_slow_bus_is_a_timeout_to_retry(config, http, bus):
    bus.delay = 2.0
    connector = build({**config, "timeout": 0.3}, {}, client=http)

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.RETRY
    assert result.error == "timeout after 0.3s"
    assert result.latency_ms < 1500


async def test_an_unreachable_bus_is_a_connection_error_to_retry(config, http):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nobody listens
    url = f"http://127.0.0.1:{port}/engine/esb/push-request"
    connector = build({**config, "token_url": url}, {}, client=http)

    result = await connector.deliver(delivery())

    assert result.outcome is Outcome.RETRY
    assert (result.error or "").startswith("connection error")


async def test_environment_supplies_url_secret_and_key(config, http, bus, our_key):
    settings = {
        key: value
        for key, value in config.items()
        if key not in ("engine_url", "client_secret_file", "private_key_file", "public_key_file")
    }
    der = bus.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings["public_key"] = base64.b64encode(der).decode()  # the form the bus publishes
    env = {
        "BACKEND_INSTITUTION_X_URL": bus.pull_url,
        "BACKEND_INSTITUTION_X_TOKEN": SECRET,
        "BACKEND_INSTITUTION_X_SECRET": private_pem(our_key),
    }

    result = await build(settings, env, client=http).deliver(delivery())

    assert result.outcome is Outcome.DELIVERED, result.error
    assert [item.code_field for item in bus.received] == ["apiCode"]


async def test_payload_template_shapes_the_esb_body(config, http, bus):
    template = {
        "caseRef": "{{ reference }}",
        "summary": "{{ kind }}: {{ data.body }}",
        "institution": "{{ data.institution }}",
        "phone": "{{ phone }}",
        "source": "USSD",
    }
    connector = build({**config, "payload": template}, {}, client=http)

    result = await connector.deliver(delivery(phone=None))

    assert result.outcome is Outcome.DELIVERED, result.error
    assert bus.received[0].esb_body == {
        "caseRef": "MRJ-2611-0001",
        "summary": f"complaint: {BODY}",
        "institution": "DAWASA",
        "phone": None,
        "source": "USSD",
    }


def split_envelope(body: bytes) -> tuple[bytes, bytes]:
    """The raw bytes of ``data`` and the signature, cut out of the body without re-serialising."""
    head, separator = b'{"data":', b',"signature":'
    assert body.startswith(head)
    cut = body.rindex(separator)
    return body[len(head) : cut], base64.b64decode(json.loads(body[cut + len(separator) : -1]))


def test_our_signature_verifies_independently_and_a_tampered_body_does_not(connector, our_key):
    body = connector.envelope(delivery())
    data, signature = split_envelope(body)

    our_key.public_key().verify(signature, data, ECDSA_SHA256)  # raises if it does not verify
    assert json.loads(body)["data"] == {
        "pushCode": "FEEDBACK-INTAKE",
        "esbBody": delivery().as_payload(),
    }
    assert BODY.encode() in data  # UTF-8 as itself, not \u escapes
    assert b": " not in data and b", " not in data.replace(BODY.encode(), b"")
    with pytest.raises(InvalidSignature):
        our_key.public_key().verify(signature, data.replace(b"DAWASA", b"TANESCO"), ECDSA_SHA256)
    with pytest.raises(InvalidSignature):
        new_key().public_key().verify(signature, data, ECDSA_SHA256)


# ------------------------------------------------------------------ configuration errors


def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_id": None}, "client_id: expected text that is not empty, got nothing"),
        ({"api_code": ""}, "api_code: expected text that is not empty, got ''"),
        ({"token_url": "ftp://bus"}, "token_url: expected an http(s) URL, got 'ftp://bus'"),
        (
            {"engine_url": None},
            "engine_url: expected an http(s) URL (or BACKEND_INSTITUTION_X_URL), got nothing",
        ),
        (
            {"private_key_file": None},
            "private_key_file: expected a file (or BACKEND_INSTITUTION_X_SECRET), got nothing",
        ),
        ({"private_key_file": "/nonexistent/ours.pem"}, "private_key_file: cannot read"),
        ({"private_key_file": "@garbage"}, "private_key_file: private key cannot be read"),
        ({"private_key_file": "@rsa"}, "private_key_file: private key is not an EC key"),
        ({"curve": "secp256r1"}, "private_key_file: private key is on curve secp256k1, expected"),
        (
            {"public_key_file": None},
            "public_key_file: expected a file with the bus's public key, got nothing",
        ),
        ({"public_key_file": "@garbage"}, "public_key_file: public key cannot be read"),
        (
            {"client_secret_file": None},
            "client_secret_file: expected a file (or BACKEND_INSTITUTION_X_TOKEN), got nothing",
        ),
        ({"client_secret": "inline"}, "client_secret: secrets do not belong in the config file"),
        ({"private_key": "inline"}, "private_key: secrets do not belong in the config file"),
        ({"mode": "sideways"}, "mode: expected one of push, pull, got 'sideways'"),
        ({"token_margin": 0}, "token_margin: expected seconds > 0, got 0"),
        ({"payload": {"x": "{{ unclosed"}}, "payload.x: bad template"),
        ({"api-code": "X"}, "api-code: unknown key, did you mean api_code?"),
    ],
)
def test_bad_configuration_is_one_line_naming_the_key(config, http, tmp_path, change, message):
    bad = dict(config)
    for key, value in change.items():
        if value is None:
            bad.pop(key)
        elif value in ("@garbage", "@rsa"):
            path = tmp_path / f"{key}.pem"
            path.write_text(rsa_pem() if value == "@rsa" else "-----BEGIN PRIVATE KEY-----\nno\n")
            bad[key] = str(path)
        else:
            bad[key] = value

    with pytest.raises(ConfigError) as raised:
        build(bad, {}, client=http)

    [line] = raised.value.problems
    assert line.startswith(f"{CONFIG}: backends.{NAME}.{message}"), line


def test_a_bad_backend_timeout_is_found_by_the_loader(config):
    with pytest.raises(ConfigError) as raised:
        backend({**config, "timeout": 0})
    assert raised.value.problems == (
        f"{CONFIG}: backends.{NAME}.timeout: expected seconds > 0, got 0",
    )


def test_a_key_from_the_environment_is_named_as_the_variable(config, http):
    settings = {k: v for k, v in config.items() if k != "private_key_file"}
    env = {"BACKEND_INSTITUTION_X_SECRET": "not a key"}
    with pytest.raises(ConfigError) as raised:
        build(settings, env, client=http)
    [line] = raised.value.problems
    assert (
        line
        == "environment: BACKEND_INSTITUTION_X_SECRET: private key is neither PEM nor base64 DER"
    )


def test_options_are_checked_without_reading_files(config):
    missing = {**config, "private_key_file": "/nonexistent/ours.pem"}
    govesb.check(backend(missing))  # serve and validate check before the worker reads keys
    with pytest.raises(ConfigError, match="token_url: expected an http"):
        govesb.check(backend({**config, "token_url": "bus"}))


def test_any_curve_the_key_carries_is_accepted_unless_one_is_configured(config, http, tmp_path):
    p256 = tmp_path / "p256.pem"
    p256.write_text(private_pem(new_key(ec.SECP256R1())))

    build({**config, "private_key_file": str(p256)}, {}, client=http)
    build({**config, "private_key_file": str(p256), "curve": "secp256r1"}, {}, client=http)
    with pytest.raises(ValueError, match="on curve secp256r1, expected secp256k1"):
        build({**config, "private_key_file": str(p256), "curve": "secp256k1"}, {}, client=http)


def test_the_commented_example_in_gateway_yaml_builds(config, http, files):
    lines = (Path(__file__).parents[2] / "config" / "gateway.yaml").read_text().splitlines()
    start = lines.index("#   some-institution:")
    block = [line[2:] for line in lines[start:] if line.startswith("#   ")]
    [(name, example)] = yaml.safe_load("\n".join(block)).items()
    example.update(files)  # the example's paths point at secrets this machine does not have

    connector = build(example, {}, client=http, name=name)

    assert isinstance(connector, govesb.GovesbConnector)
    assert connector.config.code_field == "pushCode"
    assert connector.config.engine_url.endswith("/push-request")


def test_a_numeric_api_code_is_sent_as_the_string_the_bus_expects(config, http):
    connector = build({**config, "api_code": 20451}, {}, client=http)

    data, _ = split_envelope(connector.envelope(delivery()))

    assert json.loads(data)["pushCode"] == "20451"


# ------------------------------------------------------------------ canonical bytes (floats)

NUMBERS = {"amount": 1.0, "rate": 1.5e-7, "share": 0.1, "count": 3, "big": 2**60, "10": "x"}

JS_DATA = (
    b'{"pushCode":"FEEDBACK-INTAKE","esbBody":{"reference":"MRJ-2611-0001","service":"mrejesho",'
    b'"channel":"ussd","language":"sw","kind":"complaint","data":{"10":"x","amount":1,'
    b'"rate":"1.5e-7","share":"0.1","count":3,"big":"1152921504606846976"},'
    b'"phone":"+255712345678","anonymous":false,"created_at":"2026-11-23T12:00:00Z"}}'
)
"""What the JS connector's ``JSON.stringify(JSON.parse(body).data)`` gives for that request:
integral floats as integers, the strings as they are, an array-index key first."""


def with_numbers() -> Delivery:
    return replace(delivery(), data=NUMBERS)


def test_signed_bytes_are_what_json_stringify_writes_for_floats(connector, our_key):
    data, signature = split_envelope(connector.envelope(with_numbers()))

    assert data == JS_DATA
    our_key.public_key().verify(signature, JS_DATA, ECDSA_SHA256)  # raises if it does not verify


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (1.0, 1),
        (-0.0, 0),
        (-42.0, -42),
        (2.0**53, "9007199254740992"),
        (1.5e-7, "1.5e-7"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (123.456, "123.456"),
        (2**53, "9007199254740992"),
        (2**53 - 1, 2**53 - 1),
        (True, True),
        ({"b": 1.0, "2": 2, "1": 1, "01": 0}, {"1": 1, "2": 2, "b": 1, "01": 0}),
        ((1.0, [2.5]), [1, ["2.5"]]),
    ],
)
def test_numbers_take_a_form_every_connector_writes_alike(value, canonical):
    assert govesb_crypto.canonical_payload(value) == canonical


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ({"x": float("nan")}, "payload.x is nan"),
        ({"x": [float("inf")]}, "payload.x[0] is inf"),
        ({"x": "\ud800"}, "payload.x holds a lone surrogate"),
        ({1: "a", "1": "b"}, "payload has the key '1' twice"),
        ({"x": object()}, "payload.x is a object"),
    ],
)
def test_what_cannot_be_signed_is_named(value, why):
    with pytest.raises(govesb_crypto.Unsignable, match=re.escape(why)):
        govesb_crypto.canonical_json(value)


async def test_an_unsignable_payload_is_retried_with_the_reason(connector, bus):
    result = await connector.deliver(replace(delivery(), data={"amount": float("nan")}))

    assert result.outcome is Outcome.RETRY
    assert result.error == (
        "cannot build the request: Unsignable: esbBody.data.amount is nan, which JSON cannot carry"
    )
    assert bus.requests == 0


async def test_floats_reach_the_bus_as_their_canonical_values(connector, bus):
    result = await connector.deliver(with_numbers())

    assert result.outcome is Outcome.DELIVERED, result.error
    assert bus.received[0].esb_body["data"] == json.loads(JS_DATA)["esbBody"]["data"]


# ------------------------------------------------------------------ the JS connector, in node

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

NODE_SCRIPT = Path(__file__).parents[1] / "support" / "govesb_node.js"
"""The JS connector's verify, decrypt and encrypt steps, with node's built-in crypto only."""


def run_node(job: dict[str, Any]) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(NODE_SCRIPT)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


@needs_node
def test_the_js_connector_verifies_our_request_with_floats(connector, our_key):
    body = connector.envelope(with_numbers())

    seen = run_node({"body": body.decode(), "signerPublicPem": public_pem(our_key)})

    assert seen["verified"] is True
    assert seen["dataString"].encode() == JS_DATA


CURVES = [ec.SECP256K1(), ec.SECP256R1()]


@pytest.mark.parametrize("curve", CURVES, ids=lambda curve: curve.name)
def test_encryption_round_trip_and_a_stranger_cannot_open_it(curve):
    institution = new_key(curve)
    plaintext = BODY.encode()

    sealed = govesb_crypto.encrypt(plaintext, institution.public_key())

    assert list(sealed) == ["ephemeralKey", "iv", "encryptedData"]
    assert len(base64.b64decode(sealed["iv"])) == 12
    assert base64.b64decode(sealed["ephemeralKey"]).startswith(b"-----BEGIN PUBLIC KEY-----")
    assert govesb_crypto.decrypt(sealed, institution) == plaintext
    with pytest.raises(govesb_crypto.Undecryptable, match="does not open with our key"):
        govesb_crypto.decrypt(sealed, new_key(curve))
    tampered = {**sealed, "iv": base64.b64encode(b"\0" * 12).decode()}
    with pytest.raises(govesb_crypto.Undecryptable, match="tag mismatch"):
        govesb_crypto.decrypt(tampered, institution)


@needs_node
@pytest.mark.parametrize("curve", CURVES, ids=lambda curve: curve.name)
def test_node_opens_what_we_seal_and_we_open_what_node_seals(curve):
    institution = new_key(curve)
    sealed = govesb_crypto.encrypt(BODY.encode(), institution.public_key())
    body = json.dumps({"data": {"esbBody": sealed}, "signature": ""})

    opened = run_node(
        {
            "body": body,
            "signerPublicPem": public_pem(institution),
            "recipientPrivatePem": private_pem(institution),
            "encryptTo": public_pem(institution),
            "plaintext": BODY,
        }
    )

    assert opened["plaintext"] == BODY
    assert govesb_crypto.decrypt(opened["sealed"], institution) == BODY.encode()


@pytest.fixture
def institution_key() -> ec.EllipticCurvePrivateKey:
    return new_key()


@pytest.fixture
def encrypting(config, tmp_path, institution_key) -> dict[str, Any]:
    path = tmp_path / "institution.pem"
    path.write_text(public_pem(institution_key))
    return {**config, "encrypt": True, "recipient_public_key_file": str(path)}


async def test_an_encrypted_body_is_signed_sent_and_opens_for_the_institution(
    encrypting, http, bus, institution_key
):
    connector = build(encrypting, {}, client=http)

    result = await connector.deliver(with_numbers())

    assert result.outcome is Outcome.DELIVERED, result.error
    sealed = bus.received[0].esb_body
    assert set(sealed) == {"ephemeralKey", "iv", "encryptedData"}
    assert BODY.encode() not in json.dumps(sealed).encode()
    opened = json.loads(govesb_crypto.decrypt(sealed, institution_key))
    assert opened == json.loads(JS_DATA)["esbBody"]


@needs_node
def test_the_js_connector_verifies_and_opens_our_encrypted_request(
    encrypting, http, our_key, institution_key
):
    connector = build(encrypting, {}, client=http)
    body = connector.envelope(with_numbers())

    seen = run_node(
        {
            "body": body.decode(),
            "signerPublicPem": public_pem(our_key),
            "recipientPrivatePem": private_pem(institution_key),
        }
    )

    assert seen["verified"] is True
    assert (
        seen["plaintext"].encode()
        == json.dumps(
            json.loads(JS_DATA)["esbBody"], ensure_ascii=False, separators=(",", ":")
        ).encode()
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"recipient_public_key_file": None},
            "recipient_public_key_file: expected a file with the institution's public key "
            "(encrypt is true), got nothing",
        ),
        ({"encrypt": False}, "recipient_public_key_file: set encrypt: true to encrypt to it"),
        ({"recipient_public_key_file": "/nonexistent.pem"}, "recipient_public_key_file: cannot"),
        ({"recipient_public_key": "bm90IGEga2V5"}, "recipient_public_key: recipient key cannot"),
        ({"encrypt": "sometimes"}, "encrypt: expected"),
    ],
)
def test_bad_encryption_settings_are_one_line_naming_the_key(encrypting, http, change, message):
    bad = dict(encrypting)
    for key, value in change.items():
        if value is None:
            bad.pop(key)
        else:
            bad[key] = value
    if "recipient_public_key" in change:
        bad.pop("recipient_public_key_file")

    with pytest.raises(ConfigError) as raised:
        build(bad, {}, client=http)

    [line] = raised.value.problems
    assert line.startswith(f"{CONFIG}: backends.{NAME}.{message}"), line
