"""The govesb connector against a stand-in bus that checks our signatures and signs its replies."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import CONFIG, project_settings
from tests.support.govesb_bus import ECDSA_SHA256, StandInBus, new_key, private_pem
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
