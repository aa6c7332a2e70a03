"""Bodies the gateway cannot read get a 4xx with a one-line reason and one log line, on every
route that reads one; never a 500 with a traceback (anyone could flood the logs with those)."""

from __future__ import annotations

import gzip
import json
import logging
import zlib

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import project_settings
from ussd_gateway.http.app import create_app
from ussd_gateway.http.bodies import MAX_DEPTH, BadJson, load_json, too_deep

BACKEND_TOKEN = "backend-token"
AT_FORM = "sessionId=s1&serviceCode=%2A152%2A00%23&phoneNumber=%2B255712345678&text="
GENERIC = {"session_id": "s1", "phone": "+255712345678", "service_code": "*152*00#", "text": ""}
BODY_ROUTES = {
    "/ussd/africastalking": {},
    "/ussd/africastalking/events": {},
    "/ussd/beem": {"Content-Type": "application/json"},
    "/ussd/hubtel": {"Content-Type": "application/json"},
    "/ussd/generic": {"Content-Type": "application/json"},
    "/sms/inbound": {"Content-Type": "application/x-www-form-urlencoded"},
    "/sms/delivery": {"Content-Type": "application/x-www-form-urlencoded"},
    "/simulator/language": {"Content-Type": "application/json"},
    "/backends/feedback/status": {"Authorization": f"Bearer {BACKEND_TOKEN}"},
}
"""Every POST route that reads a body, with what gets its body read (the backend's token)."""


@pytest.fixture
async def client(aiohttp_client, sqlite_url) -> TestClient:
    settings = project_settings(
        database_url=sqlite_url, redis_url=None, env={"BACKEND_FEEDBACK_TOKEN": BACKEND_TOKEN}
    )
    return await aiohttp_client(create_app(settings, worker=False))


def assert_logged_once(caplog: pytest.LogCaptureFixture, reason: str) -> None:
    """One warning saying why, and no traceback anywhere."""
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    refusals = [r for r in caplog.records if r.name == "ussd_gateway.http.bodies"]
    assert len(refusals) == 1 and reason in refusals[0].getMessage()


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("path", list(BODY_ROUTES))
async def test_a_plain_body_labelled_compressed_is_a_400(client, caplog, path, encoding) -> None:
    caplog.set_level(logging.INFO)
    headers = {**BODY_ROUTES[path], "Content-Encoding": encoding}
    response = await client.post(path, data=b"sessionId=1&text=not-compressed", headers=headers)
    assert response.status == 400
    assert await response.text() == f"bad request: body is not valid {encoding}\n"
    assert_logged_once(caplog, f"not valid {encoding}")


@pytest.mark.parametrize("path", list(BODY_ROUTES))
async def test_an_encoding_we_do_not_take_is_a_415_saying_which_we_do(client, path) -> None:
    headers = {**BODY_ROUTES[path], "Content-Encoding": "br"}
    response = await client.post(path, data=b"{}", headers=headers)
    assert response.status == 415
    assert response.headers["Accept-Encoding"] == "gzip, deflate"
    assert "'br' is not supported" in await response.text()


async def test_real_gzip_and_deflate_are_read(client) -> None:
    response = await client.post(
        "/ussd/africastalking",
        data=gzip.compress(AT_FORM.encode()),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200 and (await response.text()).startswith("CON ")
    for deflated in (zlib.compress(json.dumps(GENERIC).encode()), raw_deflate(GENERIC)):
        response = await client.post(
            "/ussd/generic",
            data=deflated,
            headers={"Content-Encoding": "deflate", "Content-Type": "application/json"},
        )
        assert response.status == 200 and (await response.json())["action"] == "continue"


def raw_deflate(document: object) -> bytes:
    """A deflate stream without zlib's wrapper, as some clients send it."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(json.dumps(document).encode()) + compressor.flush()


async def test_codings_stacked_are_undone_in_turn_up_to_two(client) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip, deflate"}
    stacked = zlib.compress(gzip.compress(json.dumps(GENERIC).encode()))
    response = await client.post("/ussd/generic", data=stacked, headers=headers)
    assert response.status == 200 and (await response.json())["action"] == "continue"
    headers["Content-Encoding"] = "gzip, gzip, gzip"
    response = await client.post("/ussd/generic", data=b"{}", headers=headers)
    assert response.status == 415
    assert await response.text() == "bad request: more than 2 content codings\n"


async def test_a_gzip_bomb_is_refused_before_it_expands(client, caplog) -> None:
    bomb = gzip.compress(b"0" * 6_000_000)  # ~6 kB (under the 8 kB cap) that would become 6 MB
    response = await client.post(
        "/sms/inbound",
        data=bomb,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 400
    assert "once decoded" in await response.text()
    assert_logged_once(caplog, "once decoded")


@pytest.mark.parametrize("path", ["/sms/inbound", "/sms/delivery"])
async def test_sms_callbacks_refuse_multipart_and_invalid_utf8(client, caplog, path) -> None:
    multipart = await client.post(
        path,
        data=b'--x\r\nContent-Disposition: form-data; name="id"\r\n\r\n1\r\n--x--\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert multipart.status == 415
    assert await multipart.text() == (
        "bad request: expected a form-encoded body (application/x-www-form-urlencoded)\n"
    )
    for body, reason in (
        (b"id=1&from=\xff\xfe", "body is not valid UTF-8"),
        (b"id=1&from=%FF%FE", "a form field is not valid UTF-8"),
    ):
        response = await client.post(path, data=body, headers=BODY_ROUTES[path])
        assert response.status == 400
        assert await response.text() == f"bad request: {reason}\n"
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("path", ["/simulator/language", "/backends/feedback/status"])
async def test_deeply_nested_json_is_a_400(client, caplog, path) -> None:
    caplog.set_level(logging.INFO)
    deep = b"[" * 5000 + b"]" * 5000
    response = await client.post(path, data=deep, headers=BODY_ROUTES[path])
    assert response.status == 400
    assert f"nested deeper than {MAX_DEPTH} levels" in await response.text()
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_nul_in_a_form_field_is_refused_before_any_store(client) -> None:
    response = await client.post(
        "/sms/inbound",
        data=b"id=1&from=%2B255712345678&text=HALI%00",
        headers=BODY_ROUTES["/sms/inbound"],
    )
    assert response.status == 400
    assert await response.text() == "bad request: a form field contains a NUL character\n"


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert not too_deep(json.dumps({"text": "[" * 100}).encode(), MAX_DEPTH)
    assert not too_deep(json.dumps([[1]] * 100).encode(), MAX_DEPTH)
    assert too_deep(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), MAX_DEPTH)
    assert not too_deep(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, MAX_DEPTH)
    assert load_json(b'{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[[["}') == {"a": '"' + "[" * 24}
    with pytest.raises(BadJson, match="not valid UTF-8"):
        load_json(b'"\xff"')


async def test_a_request_line_too_long_is_one_warning_line(client, caplog) -> None:
    """aiohttp refuses it before any route; its parser's traceback must not reach the log."""
    response = await client.post("/ussd/africastalking?" + "9" * 9000, data=AT_FORM)
    assert response.status == 400
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    [line] = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert line.levelname == "WARNING" and line.getMessage().endswith(": 400 LineTooLong")
