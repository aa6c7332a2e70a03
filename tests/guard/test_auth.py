"""Only configured callers reach the engine: path token, basic auth, networks, admin token."""

from __future__ import annotations

import base64
import logging

import pytest
from aiohttp import web

from tests.guard.helpers import URL, form, start
from ussd_gateway.config.settings import ConfigError
from ussd_gateway.http.keys import SESSIONS, SUBMISSIONS

TOKEN = "s3cret-path-segment"
ENV = {"PROVIDER_AFRICASTALKING_TOKEN": TOKEN, "PROVIDER_AFRICASTALKING_PASSWORD": "pa55"}


def basic(login: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def providers(**africastalking: object) -> dict[str, object]:
    return {"providers": {"africastalking": africastalking}}


async def assert_untouched(client, session_id: str) -> None:
    """Nothing reached the engine: no session was stored, nothing was submitted."""
    assert await client.app[SESSIONS].get(f"africastalking:{session_id}") is None
    assert await client.app[SUBMISSIONS].count() == 0


async def assert_refused(client, path: str, status: int, **kwargs: object) -> None:
    data = form()
    response = await client.post(path, data=data, **kwargs)
    assert response.status == status
    assert await response.text() == ""  # no detail
    await assert_untouched(client, data["sessionId"])


async def test_path_token(aiohttp_client, sqlite_url) -> None:
    client = await start(
        aiohttp_client,
        database_url=sqlite_url,
        sections=providers(path_token_env="PROVIDER_AFRICASTALKING_TOKEN"),
        env=ENV,
    )
    right = await client.post(f"{URL}/{TOKEN}", data=form())
    assert right.status == 200 and (await right.text()).startswith("CON Karibu e-Mrejesho")
    await assert_refused(client, f"{URL}/{TOKEN[:-1]}x", 401)
    await assert_refused(client, URL, 401)
    await assert_refused(client, f"{URL}/{TOKEN}x", 401)


async def test_basic_auth(aiohttp_client, sqlite_url) -> None:
    client = await start(
        aiohttp_client,
        database_url=sqlite_url,
        sections=providers(
            basic={"username": "at", "password_env": "PROVIDER_AFRICASTALKING_PASSWORD"}
        ),
        env=ENV,
    )
    right = await client.post(URL, data=form(), headers=basic("at", "pa55"))
    assert right.status == 200 and (await right.text()).startswith("CON ")
    await assert_refused(client, URL, 401, headers=basic("at", "wrong"))
    await assert_refused(client, URL, 401, headers=basic("someone", "pa55"))
    await assert_refused(client, URL, 401)
    await assert_refused(client, URL, 401, headers={"Authorization": "Basic !!notbase64"})
    refused = await client.post(URL, data=form())
    assert refused.headers["WWW-Authenticate"].startswith("Basic")


async def test_every_configured_way_must_pass(aiohttp_client, sqlite_url) -> None:
    client = await start(
        aiohttp_client,
        database_url=sqlite_url,
        sections=providers(
            path_token_env="PROVIDER_AFRICASTALKING_TOKEN",
            basic={"username": "at"},  # password from PROVIDER_AFRICASTALKING_PASSWORD
            allow=["127.0.0.0/8"],
        ),
        env=ENV,
    )
    ok = await client.post(f"{URL}/{TOKEN}", data=form(), headers=basic("at", "pa55"))
    assert ok.status == 200
    await assert_refused(client, f"{URL}/{TOKEN}", 401)  # token alone is not enough
    await assert_refused(client, URL, 401, headers=basic("at", "pa55"))


async def test_allowlisted_and_foreign_source_addresses(aiohttp_client, sqlite_url) -> None:
    sections = providers(allow=["127.0.0.2/32", "2001:db8::/32"])
    allowed = await start(
        aiohttp_client, database_url=sqlite_url, sections=sections, source="127.0.0.2"
    )
    response = await allowed.post(URL, data=form())
    assert response.status == 200 and (await response.text()).startswith("CON ")

    foreign = await start(
        aiohttp_client, database_url=sqlite_url, sections=sections, source="127.0.0.1"
    )
    await assert_refused(foreign, URL, 403)


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    aiohttp_client, sqlite_url
) -> None:
    behind_proxy = await start(
        aiohttp_client,
        database_url=sqlite_url,
        sections=providers(
            allow=["198.51.100.0/24"], trusted_proxies=["127.0.0.1/32", "10.0.0.0/8"]
        ),
    )
    ok = await behind_proxy.post(URL, data=form(), headers={"X-Forwarded-For": "198.51.100.7"})
    assert ok.status == 200
    # a chain of our own proxies: the right-most address that is not one of them is the client
    chain = {"X-Forwarded-For": "198.51.100.7, 10.1.2.3"}
    assert (await behind_proxy.post(URL, data=form(), headers=chain)).status == 200
    # a client writing an allowed address itself: the proxy appended the real one on the right
    spoofed = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    await assert_refused(behind_proxy, URL, 403, headers=spoofed)
    await assert_refused(behind_proxy, URL, 403, headers={"X-Forwarded-For": "203.0.113.9"})
    await assert_refused(behind_proxy, URL, 403, headers={"X-Forwarded-For": "not-an-address"})
    await assert_refused(behind_proxy, URL, 403)  # the proxy itself is not an allowed client

    untrusted_peer = await start(
        aiohttp_client,
        database_url=sqlite_url,
        sections=providers(allow=["198.51.100.0/24"], trusted_proxies=["10.0.0.0/8"]),
    )
    await assert_refused(untrusted_peer, URL, 403, headers={"X-Forwarded-For": "198.51.100.7"})


async def test_unconfigured_provider_is_open_with_a_warning(
    aiohttp_client, sqlite_url, caplog
) -> None:
    with caplog.at_level(logging.WARNING):
        client = await start(aiohttp_client, database_url=sqlite_url)
    assert (await client.post(URL, data=form())).status == 200
    assert any("/ussd/africastalking is unauthenticated" in r.getMessage() for r in caplog.records)


def test_secret_named_but_missing_stops_start_up() -> None:
    from tests.conftest import CONFIG, project_settings

    with pytest.raises(ConfigError) as error:
        project_settings(sections=providers(path_token_env="PROVIDER_AFRICASTALKING_TOKEN"))
    assert error.value.problems == (
        f"{CONFIG}: providers.africastalking.path_token_env: expected the name of a variable "
        "set in the environment, got 'PROVIDER_AFRICASTALKING_TOKEN'",
    )


def add_admin_routes(app: web.Application) -> None:
    async def ping(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/admin/ping", ping)
    app.router.add_post("/admin/reload", ping)


async def test_admin_endpoints_need_the_admin_token(aiohttp_client, sqlite_url) -> None:
    client = await start(
        aiohttp_client,
        database_url=sqlite_url,
        env={"ADMIN_TOKEN": "adm1n"},
        app_hook=add_admin_routes,
    )
    right = {"Authorization": "Bearer adm1n"}
    assert (await client.get("/admin/ping", headers=right)).status == 200
    assert (await client.post("/admin/reload", headers=right)).status == 200
    for headers in ({}, {"Authorization": "Bearer adm1nx"}, {"Authorization": "Basic adm1n"}):
        for method, path in (
            ("GET", "/admin/ping"),
            ("POST", "/admin/reload"),
            ("GET", "/admin/x"),
        ):
            response = await client.request(method, path, headers=headers)
            assert response.status == 401 and await response.text() == ""
    # the rest of the gateway needs no admin token
    assert (await client.get("/healthz")).status == 200


async def test_admin_endpoints_closed_without_admin_token(aiohttp_client, sqlite_url) -> None:
    client = await start(aiohttp_client, database_url=sqlite_url, app_hook=add_admin_routes)
    response = await client.get("/admin/ping", headers={"Authorization": "Bearer "})
    assert response.status == 403


async def test_refusals_carry_the_request_id(aiohttp_client, sqlite_url) -> None:
    client = await start(
        aiohttp_client,
        database_url=sqlite_url,
        sections=providers(path_token_env="PROVIDER_AFRICASTALKING_TOKEN"),
        env=ENV,
    )
    refused = await client.post(URL, data=form(), headers={"X-Request-Id": "abc-123"})
    assert refused.status == 401 and refused.headers["X-Request-Id"] == "abc-123"
    generated = await client.post(f"{URL}/{TOKEN}", data=form(), headers={"X-Request-Id": "a b"})
    assert generated.status == 200 and len(generated.headers["X-Request-Id"]) == 32


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        (
            {"allow": ["10.0.0.300/8"]},
            "allow[0]: expected a network such as 203.0.113.0/24, got '10.0.0.300/8'",
        ),
        ({"allow": "10.0.0.0/8"}, "allow: expected a list, got '10.0.0.0/8'"),
        ({"basic": {"password_env": "X"}}, "basic.username: expected text, got nothing"),
        (
            {"basic": {"username": "gw", "password_env": "PROVIDER_AT_PASSWORD"}},
            "basic.password_env: expected the name of a variable set in the environment, "
            "got 'PROVIDER_AT_PASSWORD'",
        ),
        ({"path_token": "t"}, "path_token: unknown key, did you mean path_token_env?"),
    ],
)
def test_bad_provider_configuration_stops_start_up(section, problem) -> None:
    from tests.conftest import CONFIG, project_settings

    with pytest.raises(ConfigError) as error:
        project_settings(sections=providers(**section), env=ENV)
    assert error.value.problems == (f"{CONFIG}: providers.africastalking.{problem}",)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", [], "203.0.113.5"),
        ("203.0.113.5", ["198.51.100.7"], "203.0.113.5"),  # untrusted peer: header ignored
        ("10.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("10.0.0.1", ["1.2.3.4, 198.51.100.7, 10.9.9.9"], "198.51.100.7"),
        ("10.0.0.1", ["1.2.3.4", "198.51.100.7"], "198.51.100.7"),  # repeated headers
        ("10.0.0.1", ["10.0.0.2, 10.0.0.3"], "10.0.0.2"),  # only proxies: the farthest one
        ("10.0.0.1", ["garbage"], None),
        ("10.0.0.1", [], "10.0.0.1"),
        ("::ffff:10.0.0.1", ["2001:db8::7"], "2001:db8::7"),  # dual-stack view of a proxy
        ("2001:db8::1", ["[2001:db8::7]"], "2001:db8::1"),
    ],
)
def test_resolve_client(peer: str, forwarded: list[str], client: str | None) -> None:
    import ipaddress

    from ussd_gateway.http.guard.auth import resolve_client

    trusted = [ipaddress.ip_network("10.0.0.0/8")]
    found = resolve_client(peer, forwarded, trusted)
    assert found == (ipaddress.ip_address(client) if client else None)
