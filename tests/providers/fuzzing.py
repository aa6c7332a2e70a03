"""Hypothesis strategies for webhook bodies, and a real gateway in a thread to throw them at.

The gateway runs in its own event loop on a background thread so hypothesis can drive it from
plain synchronous tests through a real socket: random bytes, JSON of every shape, forms, huge and
unicode fields, and near-valid requests that reach the engine.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.conftest import project_settings, shipped_document
from ussd_gateway.http.app import create_app

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
"""Modest, so each fuzz test stays within a few seconds."""
PARSER_FUZZ = settings(FUZZ, max_examples=150)

CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain; charset=utf-8",
        "application/octet-stream",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "",
    ]
)
WEIRD_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["", " ", "*", "#", "*152*00#", "*152*00*1#", "1*1*2", "00", "98", "\u2019"]),
    st.builds(lambda n: "9" * n, st.integers(min_value=100, max_value=20_000)),
)
ENTRIES = st.one_of(
    st.sampled_from(["", "1", "2", "3", "0", "00", "98", "99", "1*1", "Amina Juma", "*152*00#"]),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
)
"""What a citizen might type: menu choices, words, emoji, any unicode."""
TYPED = st.lists(
    st.one_of(
        st.sampled_from(["1", "1", "2", "0", "00", "98", "", "Nimelipa kodi *mara mbili*"]),
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=40
        ),
    ),
    max_size=8,
)
"""A whole session's worth of entries, none of them malformed: every hop must get a screen."""
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    WEIRD_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def json_bodies(keys: list[str], values: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy:
    """Objects with the adapter's own keys (plausible or garbage values), or any JSON at all."""
    fields = {key: st.one_of(values.get(key, JSON_VALUES), JSON_VALUES) for key in keys}
    plausible = st.fixed_dictionaries({}, optional=fields)
    return st.one_of(plausible, JSON_VALUES)


def bodies(json_like: st.SearchStrategy, form_keys: list[str]) -> st.SearchStrategy[bytes]:
    """Raw bytes, serialised JSON (including invalid JSON numbers), and url-encoded forms."""
    forms = st.dictionaries(st.sampled_from(form_keys), WEIRD_TEXT, max_size=len(form_keys))
    return st.one_of(
        st.binary(max_size=600),
        json_like.map(lambda v: json.dumps(v, allow_nan=True).encode()),
        json_like.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        forms.map(lambda f: urlencode(f).encode()),
        st.builds(lambda n: b"[" * n, st.integers(min_value=1, max_value=100_000)),
    )


class LiveGateway:
    """The real application on 127.0.0.1 (in-process sessions, SQLite) in a background loop."""

    def __init__(self, database: Path) -> None:
        # the fuzzer sends thousands of hops from a few numbers: per-number limits would answer
        # most of them with the polite "too many requests" END instead of exercising the engine
        limits = {**shipped_document()["limits"], "phone": {"requests": 0, "window": 60}}
        self.settings = project_settings(
            database_url=f"sqlite+aiosqlite:///{database}",
            redis_url=None,
            sections={"limits": limits},
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.port = 0

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def start(self) -> None:
        self.thread.start()
        self.runner = web.AppRunner(create_app(self.settings, worker=False))
        self.run(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.run(site.start())
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self.runner is not None:
            self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Content-Type": content_type} if content_type else {}
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            connection.close()


@contextmanager
def live_gateway(directory: Path) -> Iterator[LiveGateway]:
    gateway = LiveGateway(directory / "fuzz.db")
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


BOTH_STORES = pytest.mark.parametrize("store_url", ["memory", "redis"], indirect=True)
"""For tests whose outcome depends on the session store (ending, resuming, whole journeys)."""
