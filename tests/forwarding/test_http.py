"""The ``http`` connector against a real server: what the backend receives, how replies count."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import CONFIG, project_settings
from tests.forwarding.conftest import Reply, StandIn
from ussd_gateway.adapters.connectors import http
from ussd_gateway.adapters.connectors.base import Delivery, Outcome
from ussd_gateway.adapters.connectors.registry import build_connector, check_backends
from ussd_gateway.config.backends import BackendConfig
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


def backend(raw: dict[str, Any], env: dict[str, str] | None = None) -> BackendConfig:
    """``backends.feedback`` as the loader reads it from the shipped file with ``raw``."""
    return project_settings(sections={"backends": {"feedback": raw}}, env=env).backends["feedback"]


def connector(
    client: aiohttp.ClientSession, url: str, env: dict[str, str] | None = None, **raw: Any
):
    return build_connector(backend({"type": "http", "url": url, **raw}, env), client=client)


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


def problems(raw: dict[str, Any], env: dict[str, str] | None = None) -> tuple[str, ...]:
    """Every problem line of ``backends.feedback`` = ``raw``, from the loader or the connector."""
    try:
        settings = project_settings(sections={"backends": {"feedback": raw}}, env=env)
        check_backends(settings.forwarding)
    except ConfigError as exc:
        return tuple(line.removeprefix(f"{CONFIG}: ") for line in exc.problems)
    return ()


URL = {"type": "http", "url": "http://x"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"type": "ftp", "url": "x"},
            "backends.feedback.type: expected one of govesb, http, got 'ftp'",
        ),
        (
            {"url": "http://x"},
            "backends.feedback.type: expected a connector type (http or govesb), got nothing",
        ),
        (
            {**URL, "retry": {"max_attempts": 0}},
            "backends.feedback.retry.max_attempts: expected a whole number ≥ 1, got 0",
        ),
        (
            {**URL, "retry": {"tries": 3}},
            "backends.feedback.retry.tries: unknown key, expected one of backoff_factor, "
            "base_delay, give_up_after, jitter, max_attempts, max_delay",
        ),
        ({**URL, "timeout": "x"}, "backends.feedback.timeout: expected seconds, got 'x'"),
        (
            {"type": "http"},
            "backends.feedback.url: expected an http(s) URL (or BACKEND_FEEDBACK_URL), got nothing",
        ),
        (
            {"type": "http", "url": "ftp://x"},
            "backends.feedback.url: expected an http(s) URL, got 'ftp://x'",
        ),
        (
            {**URL, "auth": "hmac"},
            "backends.feedback.secret: expected a secret for auth hmac "
            "(or BACKEND_FEEDBACK_SECRET), got nothing",
        ),
        (
            {**URL, "auth": "basic", "secret": "s"},
            "backends.feedback.username: expected a user name for auth basic, got nothing",
        ),
        (
            {**URL, "auth": "token"},
            "backends.feedback.auth: expected one of none, bearer, basic, hmac, got 'token'",
        ),
        ({**URL, "retires": 3}, "backends.feedback.retires: unknown key, did you mean retry?"),
        (
            {**URL, "headers": ["X-A: b"]},
            "backends.feedback.headers: expected a mapping, got a list",
        ),
        (
            {**URL, "payload": {"a": "{{ oops"}},
            "backends.feedback.payload.a: bad template: unexpected end of template, "
            "expected 'end of print statement'.",
        ),
    ],
)
def test_config_mistakes_are_one_line_naming_the_key(raw: dict[str, Any], expected: str):
    assert problems(raw) == (expected,)


def test_an_environment_override_is_checked_as_the_variable():
    assert problems({"type": "http", "url": "http://x"}, {"BACKEND_FEEDBACK_URL": "x"}) == (
        "environment: BACKEND_FEEDBACK_URL: expected an http(s) URL, got 'x'",
    )
    assert problems({"type": "http"}, {"BACKEND_FEEDBACK_URL": "https://x/y"}) == ()


def test_every_problem_of_every_backend_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        check_backends(
            project_settings(
                sections={"backends": {"a": {"type": "http"}, "b": {"type": "http", "url": "x"}}}
            ).forwarding
        )
    assert [line.split(": ")[1] for line in error.value.problems] == [
        "backends.a.url",
        "backends.b.url",
    ]


def test_shipped_config_has_the_feedback_backend():
    feedback = project_settings().backends["feedback"]
    assert feedback.type == "http" and feedback.timeout == 10
    assert feedback.options == {"url": "http://127.0.0.1:8090/feedback", "method": "POST"}
    assert feedback.retry.max_delay == 300
    env = {"BACKEND_FEEDBACK_URL": "https://x/y", "BACKEND_FEEDBACK_TOKEN": "t"}
    overridden = project_settings(env=env).backends["feedback"]
    assert overridden.token == "t"
    config, _ = http.read_config(overridden)
    assert config.url == "https://x/y" and config.auth == "bearer" and config.token == "t"
