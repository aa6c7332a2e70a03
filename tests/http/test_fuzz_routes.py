"""Every route the app serves, thrown random and malformed requests: none may answer 500 or
above, and no traceback may reach the log (each would be a log-flooding lever for anyone).

The routes come from the app's own router, so a route added later is fuzzed too. Requests mix
methods, path parameters, query strings, content types, ``Content-Encoding`` (real, truncated
and lying gzip/deflate, unknown codings), credentials right and wrong, and bodies: random bytes,
near-valid provider and callback payloads with random values, deep JSON, huge fields, invalid
UTF-8, multipart, forms with odd keys. The run is derandomized, so CI repeats the same requests;
``FUZZ_REQUESTS`` changes how many (10,000 by default).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import gzip
import json
import logging
import os
import random
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from tests.conftest import shipped_document, shipped_settings
from tests.providers.fuzzing import JSON_VALUES, WEIRD_TEXT
from ussd_gateway.http.app import create_app
from ussd_gateway.http.providers import ADAPTERS

REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "10000"))
MUTANTS = 9
"""Variations sent with each drawn case: hypothesis draws a tenth of the requests."""
ADMIN_TOKEN = "admin-token"
BACKEND_TOKEN = "backend-token"
BEEM_TOKEN = "beem-path-token"
HUBTEL_LOGIN = ("hubtel", "hubtel-password")
ENV = {
    "ADMIN_TOKEN": ADMIN_TOKEN,
    "BACKEND_FEEDBACK_TOKEN": BACKEND_TOKEN,
    "PROVIDER_BEEM_TOKEN": BEEM_TOKEN,
    "PROVIDER_HUBTEL_PASSWORD": HUBTEL_LOGIN[1],
}
PROVIDERS = {
    "beem": {"path_token_env": "PROVIDER_BEEM_TOKEN"},
    "hubtel": {"basic": {"username": HUBTEL_LOGIN[0], "password_env": "PROVIDER_HUBTEL_PASSWORD"}},
}
"""Some webhooks closed (a path token, basic auth), the others open as shipped."""

MAX_QUERY = 4000
"""Longer URLs are aiohttp's own 400 before any route (test_bodies checks it logs one line);
cut here, since after a HEAD that 400's body confuses aiohttp's client."""
PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
ENCODINGS = ["gzip", "deflate", "x-gzip", "identity", "br", "zstd", "gzip, deflate", "GZIP"]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "text/json",
    "application/octet-stream",
    "multipart/form-data; boundary=fuzz",
    "multipart/form-data",
    "application/xml",
    "",
]
PHONES = st.sampled_from(["+255712345678", "255754000111", "0712345678", "+1", "", "abc"])
CODES = st.sampled_from(["*152*00#", "*152*00*1#", "*999#", "", "152"])


def routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, pattern) of every route the app serves; a static directory as its prefix."""
    found = []
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else "/"
        found.append((route.method, canonical))
    return sorted(set(found))


def forms(fields: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[bytes]:
    """A url-encoded form with the route's own fields (some missing), random values."""
    return st.fixed_dictionaries({}, optional=fields).map(lambda f: urlencode(f).encode())


def objects(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[bytes]:
    """A JSON object with the route's own keys (some missing), plausible or any values."""
    values = {key: st.one_of(value, JSON_VALUES) for key, value in fields.items()}
    return st.fixed_dictionaries({}, optional=values).map(
        lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")
    )


TEXT = st.one_of(WEIRD_TEXT, st.sampled_from(["1", "2", "0", "00", "98", "1*1", "HALI ZCFG7HU3"]))
PAYLOADS = st.one_of(
    forms(  # Africa's Talking USSD, its end-of-session notice
        {
            "sessionId": st.one_of(st.sampled_from(["s1", "s2", "s3"]), WEIRD_TEXT),
            "serviceCode": CODES,
            "phoneNumber": PHONES,
            "networkCode": st.sampled_from(["64002", "64004", ""]),
            "text": TEXT,
            "status": st.sampled_from(["Incomplete", "Success", "Failed", "odd"]),
        }
    ),
    forms(  # SMS in and delivery reports
        {
            "id": st.one_of(st.sampled_from(["m1", "m2"]), WEIRD_TEXT),
            "from": PHONES,
            "to": st.sampled_from(["15200", ""]),
            "text": TEXT,
            "linkId": WEIRD_TEXT,
            "status": st.sampled_from(["Success", "Failed", "Sent", "nope"]),
            "phoneNumber": PHONES,
            "retryCount": st.sampled_from(["0", "x", "99999999"]),
        }
    ),
    objects(  # beem
        {
            "command": st.sampled_from(["initiate", "continue", "terminate", "x"]),
            "msisdn": PHONES,
            "session_id": st.sampled_from(["b1", "b2"]),
            "operator": st.sampled_from(["vodacom", ""]),
            "payload": st.fixed_dictionaries(
                {}, optional={"request_id": st.integers(), "response": TEXT}
            ),
        }
    ),
    objects(  # hubtel
        {
            "SessionId": st.sampled_from(["h1", "h2"]),
            "Type": st.sampled_from(["Initiation", "Response", "Release", "Timeout", "x"]),
            "Mobile": PHONES,
            "ServiceCode": CODES,
            "Message": TEXT,
            "Sequence": st.integers(),
        }
    ),
    objects(  # generic, the simulator's language, a backend's status report
        {
            "session_id": st.sampled_from(["g1", "g2"]),
            "phone": PHONES,
            "service_code": CODES,
            "text": TEXT,
            "mode": st.sampled_from(["cumulative", "latest", "x"]),
            "event": st.sampled_from(["start", "continue", "end", "x"]),
            "language": st.sampled_from(["sw", "en", "xx"]),
            "reference": st.sampled_from(["ZCFG7HU3", ""]),
            "status": st.sampled_from(["received", "resolved", "x"]),
            "note": st.one_of(TEXT, st.dictionaries(st.text(max_size=5), TEXT, max_size=3)),
        }
    ),
)
HOSTILE = st.one_of(
    st.binary(max_size=2000),
    JSON_VALUES.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.builds(lambda n: b"[" * n + b"]" * n, st.integers(1, 20_000)),
    st.builds(lambda n: b'{"a":' * n + b"1" + b"}" * n, st.integers(1, 5_000)),
    st.builds(lambda n, key: urlencode({key: "9" * n}).encode(), st.integers(1, 200_000), TEXT),
    st.dictionaries(WEIRD_TEXT, WEIRD_TEXT, max_size=8).map(lambda f: urlencode(f).encode()),
    st.builds(lambda n: b"a=1&" * n, st.integers(1, 3_000)),
    st.builds(
        lambda name, value, end: (
            b"--fuzz\r\nContent-Disposition: form-data; name=%b\r\n\r\n%b\r\n%b"
            % (name.encode("utf-8", "replace"), value, end)
        ),
        WEIRD_TEXT,
        st.binary(max_size=200),
        st.sampled_from([b"--fuzz--\r\n", b"", b"--fu"]),
    ),
)


def spoil(body: bytes, how: int) -> bytes:
    """Invalid UTF-8 in one of a few places, or a NUL, or nothing."""
    if how == 1:
        return body + b"\xff\xfe"
    if how == 2:
        return body.replace(b"=", b"=%FF", 1)
    if how == 3:
        return body[: len(body) // 2] + b"\xc3" + body[len(body) // 2 :]
    if how == 4:
        return body.replace(b"=", b"=%00", 1)
    return body


def encode(body: bytes, coding: str | None, how: int) -> bytes:
    """The body as a lying, a truthful or a truncated encoder would send it."""
    if coding is None or how == 0:
        return body  # the header lies: plain bytes
    compressed = {
        "gzip": gzip.compress,
        "x-gzip": gzip.compress,
        "GZIP": gzip.compress,
        "deflate": zlib.compress,
        "gzip, deflate": lambda b: zlib.compress(gzip.compress(b)),
    }.get(coding)
    if compressed is None:
        return body
    data = compressed(body)
    return data[: max(1, len(data) // 2)] if how == 2 else data


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def __repr__(self) -> str:  # what hypothesis prints for a failure
        return f"{self.method} {self.path}?{self.query} {self.headers} {self.body[:300]!r}"


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
AUTHORIZATION_VALUES = [
    f"Bearer {ADMIN_TOKEN}",
    f"Bearer {BACKEND_TOKEN}",
    "Basic " + base64.b64encode(":".join(HUBTEL_LOGIN).encode()).decode(),
    "Basic !!!",
    "Bearer",
]
AUTHORIZATIONS = st.sampled_from(AUTHORIZATION_VALUES)


PARAMETERS = {
    "provider": [*sorted(ADAPTERS), "africastalking"],
    "token": [BEEM_TOKEN, "events", "wrong"],
    "name": ["feedback", "meetings", "nobody"],
}
"""Path parameters that reach a handler (a provider, the right token, a backend) or not."""
STATIC_FILES = ["simulator.js", "../../x", "nope"]


def fill(pattern: str, pick: Callable[[list[str]], str]) -> str:
    """A path for the pattern, each parameter one ``pick`` from its sensible values or junk."""

    def one(match: re.Match[str]) -> str:
        return quote(pick([*PARAMETERS.get(match.group(1), ["x"]), "\u00e9/\x00", "%"]), safe="")

    path = PARAMETER.sub(one, pattern)
    if not PARAMETER.search(pattern) and path.endswith("/static"):  # a static directory
        path += "/" + quote(pick(STATIC_FILES), safe="")
    return path


def mutants(case: Case, served: list[tuple[str, str]], rnd: random.Random) -> list[Case]:
    """Cheap variations of a drawn case (hypothesis's drawing is the slow part): flipped,
    cut and spoiled bytes, other labels and codings, the same body sent to another route."""
    out = []
    for _ in range(MUTANTS):
        body, headers, path, method = case.body, dict(case.headers), case.path, case.method
        for _ in range(rnd.randint(1, 3)):
            kind = rnd.randrange(8)
            if kind == 0 and body:
                at = rnd.randrange(len(body))
                body = body[:at] + bytes([rnd.randrange(256)]) + body[at + 1 :]
            elif kind == 1:
                body = body[: rnd.randint(0, len(body))]
            elif kind == 2:
                body = spoil(body, rnd.randint(1, 4))
            elif kind == 3:
                headers["Content-Type"] = rnd.choice(CONTENT_TYPES)
            elif kind == 4:
                coding = rnd.choice(ENCODINGS)
                headers["Content-Encoding"] = coding
                body = encode(body, coding, rnd.randint(0, 2))
            elif kind == 5:
                headers.pop("Content-Encoding", None)
            elif kind == 6:
                method, pattern = rnd.choice(served)
                method = rnd.choice(METHODS) if method == "*" else method
                path = fill(pattern, rnd.choice)
            else:
                headers["Authorization"] = rnd.choice(AUTHORIZATION_VALUES)
        out.append(Case(method, path, case.query, headers, body))
    return out


def cases(served: list[tuple[str, str]]) -> st.SearchStrategy[Case]:
    @st.composite
    def case(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Case:
        method, pattern = draw(st.sampled_from(served))
        if method == "*" or draw(st.integers(0, 9)) == 0:
            method = draw(st.sampled_from(METHODS))
        query = draw(
            st.one_of(
                st.just(""),
                st.dictionaries(WEIRD_TEXT, WEIRD_TEXT, max_size=4).map(urlencode),
                HEADER_TEXT.map(lambda q: quote(q, safe="=&%+")),
            )
        )[:MAX_QUERY]
        headers: dict[str, str] = {}
        content_type = draw(st.one_of(st.sampled_from(CONTENT_TYPES), HEADER_TEXT))
        headers["Content-Type"] = content_type
        coding = draw(st.one_of(st.none(), st.none(), st.sampled_from(ENCODINGS), HEADER_TEXT))
        if coding:
            headers["Content-Encoding"] = coding
        if draw(st.booleans()):
            headers["Authorization"] = draw(st.one_of(AUTHORIZATIONS, HEADER_TEXT))
        if draw(st.integers(0, 4)) == 0:
            headers["X-Signature"] = draw(HEADER_TEXT)
        body = draw(st.one_of(PAYLOADS, PAYLOADS, HOSTILE))
        body = spoil(body, draw(st.integers(0, 8)))
        body = encode(body, coding, draw(st.integers(0, 2)))
        return Case(method, fill(pattern, lambda c: draw(st.sampled_from(c))), query, headers, body)

    return case()


@pytest.fixture
def app(tmp_path: Path) -> web.Application:
    limits = {**shipped_document()["limits"], "phone": {"requests": 0, "window": 60}}
    settings = shipped_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}",
        redis_url=None,
        sections={"providers": PROVIDERS, "limits": limits},
        env=ENV,
    )
    return create_app(settings, worker=False)


@pytest.fixture
def loop_runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


async def started(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app, access_log=None))  # not what is looked for
    await client.start_server()
    return client


def test_no_request_gets_a_5xx_or_a_traceback(app, loop_runner, caplog, capsys) -> None:
    caplog.set_level(logging.INFO)
    served = routes(app)
    assert ("POST", "/sms/inbound") in served and ("POST", "/ussd/{provider}") in served
    client = loop_runner.run(started(app))
    base = client.make_url("/")
    statuses: collections.Counter[int] = collections.Counter()
    seen = 0

    async def send(case: Case) -> int:
        url = URL(f"{base.origin()}{case.path}?{case.query}", encoded=True)
        async with client.session.request(
            case.method,
            url,
            data=case.body,
            headers=case.headers,
            skip_auto_headers=["Content-Type"],
        ) as response:
            await response.read()
            return response.status

    async def send_all(batch: list[Case]) -> list[int]:
        return await asyncio.gather(*map(send, batch))

    @settings(
        max_examples=-(-REQUESTS // (MUTANTS + 1)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(served), st.randoms(use_true_random=False))
    def answer(case: Case, rnd: random.Random) -> None:
        nonlocal seen
        batch = [case, *mutants(case, served, rnd)]
        answers = loop_runner.run(send_all(batch))
        statuses.update(answers)
        records = caplog.records[seen:]
        seen = len(caplog.records)
        tracebacks = [r.getMessage() for r in records if r.exc_info or "Traceback" in r.message]
        failed = [(c, status) for c, status in zip(batch, answers, strict=True) if status >= 500]
        assert not failed, failed
        assert not tracebacks, (batch, tracebacks)

    began = time.perf_counter()
    try:
        answer()
    finally:
        elapsed = time.perf_counter() - began
        loop_runner.run(client.close())
        with capsys.disabled():
            print(
                f"\nfuzz: {sum(statuses.values())} requests over {len(served)} routes in "
                f"{elapsed:.1f} s; statuses {dict(sorted(statuses.items()))}"
            )
    assert sum(statuses.values()) >= REQUESTS
    assert "Traceback" not in caplog.text
