"""The ``http`` connector against a real server: what the backend receives, how replies count."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.forwarding.conftest import Reply, StandIn
from ussd_gateway.adapters.connectors import http
from ussd_gateway.adapters.connectors.base import Delivery, Outcome
from ussd_gateway.adapters.connectors.registry import build_connector, check_types
from ussd_gateway.config.backends import ForwardingConfig, load_forwarding, parse_backend
from ussd_gateway.config.settings import ConfigError

DELIVERY = Delivery(
    reference="ZCFG7HU3",
    service="mrejesho",
    backend="feedback",
    channel="ussd",
    language="sw",
    kind="complaint",
    data={"body": "Maji hayatoki", "institution": "dawasa"},
    phone="+255712345678",
    created_at="2026-11-23T10:00:00+00:00",
    attempt=1,
)


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def connector(
    client: aiohttp.ClientSession, url: str, env: dict[str, str] | None = None, **raw: Any
):
    backend = parse_backend("feedback", {"type": "http", "url": url, **raw}, env or {})
    return build_connector(backend, env or {}, client=client)


async def test_delivery_carries_idempotency_key_and_a_verifiable_signature(
    stand_in: StandIn, client
):
    env = {"BACKEND_FEEDBACK_SECRET": "s3cret"}
    result = await connector(client, stand_in.url, env, auth="hmac").deliver(DELIVERY)
    assert result.outcome is Outcome.DELIVERED and result.status_code == 201
    assert result.remote_id == "CASE-1"
    (got,) = stand_in.received
    assert got.key == "ZCFG7HU3"
    expected = hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Signature"] == f"sha256={expected}"
    assert got.json["reference"] == "ZCFG7HU3" and got.json["data"]["body"] == "Maji hayatoki"
    assert got.json["anonymous"] is False
    assert "Authorization" not in got.headers


async def test_bearer_and_basic_auth(stand_in: StandIn, client):
    env = {"BACKEND_FEEDBACK_TOKEN": "tok"}
    await connector(client, stand_in.url, env).deliver(DELIVERY)
    assert stand_in.received[-1].headers["Authorization"] == "Bearer tok"
    await connector(client, stand_in.url, auth="basic", username="ega", secret="pw").deliver(
        DELIVERY
    )
    assert (
        stand_in.received[-1].headers["Authorization"]
        == "Basic " + base64.b64encode(b"ega:pw").decode()
    )


async def test_url_comes_from_the_environment(stand_in: StandIn, client):
    env = {"BACKEND_FEEDBACK_URL": stand_in.url}
    result = await connector(client, "http://127.0.0.1:9/never", env).deliver(DELIVERY)
    assert result.outcome is Outcome.DELIVERED and len(stand_in.received) == 1


async def test_payload_template_renders_sandboxed_fields(stand_in: StandIn, client):
    payload = {
        "ref": "{{ reference }}",
        "summary": "{{ kind }} kwa {{ data.institution | upper }}",
        "fields": "{{ data }}",
        "who": "{{ phone }}",
        "fixed": [1, "x"],
        "sneaky": "{{ ''.__class__ }}",
    }
    await connector(client, stand_in.url, payload=payload).deliver(DELIVERY)
    body = stand_in.received[-1].json
    assert body["ref"] == "ZCFG7HU3"
    assert body["summary"] == "complaint kwa DAWASA"
    assert body["fields"] == {"body": "Maji hayatoki", "institution": "dawasa"}
    assert body["who"] == "+255712345678" and body["fixed"] == [1, "x"]
    assert "class" not in body["sneaky"]


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Reply(500, {"error": "db down"}), Outcome.RETRY),
        (Reply(503), Outcome.RETRY),
        (Reply(408), Outcome.RETRY),
        (Reply(429, headers={"Retry-After": "7"}), Outcome.RETRY),
        (Reply(400, {"error": "missing field"}), Outcome.FAILED),
        (Reply(404), Outcome.FAILED),
        (Reply(422), Outcome.FAILED),
        (Reply(200, {"case": 42}), Outcome.DELIVERED),
    ],
)
async def test_replies_are_classified(stand_in: StandIn, client, reply: Reply, outcome: Outcome):
    stand_in.script.append(reply)
    result = await connector(client, stand_in.url).deliver(DELIVERY)
    assert result.outcome is outcome
    assert result.status_code == reply.status
    if reply.status == 429:
        assert result.retry_after == 7
    if reply.status == 400:
        assert result.error == 'HTTP 400: {"error": "missing field"}'
    if outcome is Outcome.DELIVERED:
        assert result.remote_id == "42" and result.error is None


async def test_timeout_and_refused_connection_are_retried(stand_in: StandIn, client):
    stand_in.script.append(Reply(delay=2))
    result = await connector(client, stand_in.url, timeout=0.3).deliver(DELIVERY)
    assert result.outcome is Outcome.RETRY and result.error == "timeout after 0.3s"
    assert 250 <= result.latency_ms < 1500
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refused = await connector(client, f"http://127.0.0.1:{port}/x").deliver(DELIVERY)
    assert refused.outcome is Outcome.RETRY and "ClientConnectorError" in (refused.error or "")


def test_retry_after_accepts_http_dates():
    assert http.retry_after("120") == 120
    assert http.retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert http.retry_after("soon") is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "ftp", "url": "x"}, "backends.feedback: unknown type 'ftp'"),
        ({"url": "http://x"}, "backends.feedback: type is missing"),
        ({"type": "http", "retry": {"max_attempts": 0}}, "backends.feedback.retry"),
        ({"type": "http", "retry": {"tries": 3}}, "unknown key(s) tries"),
    ],
)
def test_config_mistakes_name_the_backend(raw: dict[str, Any], message: str):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_types(ForwardingConfig({"feedback": parse_backend("feedback", raw, {})}))


async def test_http_config_mistakes_name_the_backend(client):
    with pytest.raises(ConfigError, match=r"backends\.feedback: url must be an http"):
        connector(client, "")
    with pytest.raises(ConfigError, match="auth hmac needs a secret"):
        connector(client, "http://x", auth="hmac")
    with pytest.raises(ConfigError, match="bad template"):
        connector(client, "http://x", payload={"a": "{{ oops"})


def test_shipped_config_has_the_feedback_backend():
    from tests.conftest import project_settings

    config = load_forwarding(project_settings())
    feedback = config.backends["feedback"]
    assert feedback.type == "http"
    assert feedback.options["url"] == "http://127.0.0.1:8090/feedback"
    assert feedback.retry.max_delay == 300
    overridden = load_forwarding(
        project_settings(env={"BACKEND_FEEDBACK_URL": "https://x/y", "BACKEND_FEEDBACK_TOKEN": "t"})
    ).backends["feedback"]
    assert overridden.options["url"] == "https://x/y" and overridden.token == "t"
