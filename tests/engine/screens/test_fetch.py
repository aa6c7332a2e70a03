"""``fetch`` screens against a real aiohttp backend: found, not found, unavailable, and what a
citizen types never choosing where the request goes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.engine.helpers import ROOT, build, drive, parse
from tests.support.clock import FakeClock
from ussd_gateway.adapters.fetch import BackendFetcher
from ussd_gateway.config.backends import BackendConfig
from ussd_gateway.config.fetch import FetchSettings
from ussd_gateway.engine.runner import Engine
from ussd_gateway.engine.screens.fetch import FetchScreen

BILLS = """
service: bills
languages: [sw, en]
start: ask
screens:
  ask:
    type: input
    text: {sw: "Namba ya malipo", en: "Control number"}
    save_as: control_number
    next: find
  find:
    type: fetch
    backend: bills
    request: {control_number: "{{ control_number }}"}
    set: {payer: payer.name, amount: amount, first_item: "items[0]"}
    max_length: {payer: 12}
    next: show
    not_found: missing
    unavailable: later
  show:
    type: end
    text: "{{ payer }}|{{ amount }}"
  missing:
    type: end
    text: {sw: "Haipo", en: "Not found"}
  later:
    type: end
    text: {sw: "Jaribu baadaye", en: "Try later"}
"""


@dataclass
class Bills:
    """A bills system: records what it was asked, can hang or fail on demand."""

    bills: dict[str, Any] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    raw_paths: list[str] = field(default_factory=list)
    hang: bool = False
    status: int | None = None
    body: bytes | None = None

    async def every(self, request: web.Request) -> web.Response:
        self.asked.append("<every bill>")
        return web.json_response({"payer": {"name": "EVERY PAYER"}, "amount": 0})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.raw_paths.append(request.raw_path)
        number = request.match_info["number"]
        self.asked.append(number)
        if self.hang:
            await asyncio.sleep(30)
        if self.status is not None:
            return web.Response(status=self.status, text="boom")
        if self.body is not None:
            return web.Response(body=self.body, content_type="application/json")
        bill = self.bills.get(number)
        if bill is None:
            return web.json_response({"error": "no such bill"}, status=404)
        return web.json_response(bill)


@pytest.fixture
async def bills() -> AsyncIterator[tuple[Bills, str]]:
    state = Bills(
        bills={"991234567890": {"payer": {"name": "Asha Juma"}, "amount": 15000, "items": [1]}}
    )
    app = web.Application()
    app.router.add_get("/api/bills/{number}", state.handle)
    app.router.add_get("/api/bills/", state.every)  # a collection, as many systems have
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield state, str(server.make_url("/api/bills"))
    finally:
        await server.close()


def backend(url: str, **options: Any) -> BackendConfig:
    return BackendConfig(
        name="bills",
        type="http",
        options={"url": url, "method": "GET", "path": "/{control_number}", **options},
    )


@pytest.fixture
async def fetcher(bills: tuple[Bills, str]) -> AsyncIterator[tuple[BackendFetcher, FakeClock]]:
    clock = FakeClock()
    fetcher = BackendFetcher(
        {"bills": backend(bills[1])}, FetchSettings(timeout=0.3), clock=clock.monotonic
    )
    yield fetcher, clock
    await fetcher.close()


@pytest.fixture
def menu(tmp_path: Path):
    return build(tmp_path, BILLS)


def engine_for(fetcher: BackendFetcher, timeout: float = 0.3) -> Engine:
    return Engine(fetcher=fetcher, fetch_timeout=timeout)


async def test_a_found_bill_sets_the_declared_values_cut_to_their_length(
    menu, bills, fetcher
) -> None:
    state, _ = bills
    state.bills["991234567891"] = {
        "payer": {"name": "Mwanaisha\r\nEND Bakari\u2013Hamisi"},
        "amount": 5,
    }
    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher[0]))
    assert journey.text == "Asha Juma|15000"
    assert journey.session.vars["first_item"] == 1
    long = await drive(menu, ["991234567891"], engine=engine_for(fetcher[0]))
    # one line, GSM-7, cut to max_length 12 with "..."
    assert long.text == "Mwanaisha...|5"
    assert len(long.session.vars["payer"]) <= 12


async def test_an_unknown_bill_gets_the_not_found_screen(menu, bills, fetcher) -> None:
    journey = await drive(menu, ["990000000000"], engine=engine_for(fetcher[0]))
    assert journey.text == "Haipo"
    assert bills[0].asked == ["990000000000"]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[" * 50 + b"]" * 50, b'{"payer": "' + b"x" * 70_000 + b'"}'],
    ids=["not-json", "too-deep", "too-big"],
)
async def test_a_bad_reply_is_unavailable_never_shown(menu, bills, fetcher, body) -> None:
    bills[0].body = body
    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher[0]))
    assert journey.text == "Jaribu baadaye"


async def test_a_server_error_is_unavailable(menu, bills, fetcher) -> None:
    bills[0].status = 503
    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher[0]))
    assert journey.text == "Jaribu baadaye"


async def test_a_hanging_backend_answers_unavailable_in_time_then_at_once(
    menu, bills, fetcher
) -> None:
    state, _ = bills
    state.hang = True
    fetch, clock = fetcher
    loop = asyncio.get_running_loop()
    for _ in range(3):  # FetchSettings.breaker_failures
        started = loop.time()
        journey = await drive(menu, ["991234567890"], engine=engine_for(fetch))
        assert journey.text == "Jaribu baadaye"
        assert loop.time() - started < 1.0
    assert fetch.breaker("bills").state == "open"
    asked = len(state.asked)
    journey = await drive(menu, ["991234567890"], engine=engine_for(fetch))
    assert journey.text == "Jaribu baadaye"
    assert len(state.asked) == asked  # the open circuit did not ask the dead system
    # after the cool-down one citizen tries again; the system is back: all see their bill
    state.hang = False
    clock.advance(31)
    journey = await drive(menu, ["991234567890"], engine=engine_for(fetch))
    assert journey.text == "Asha Juma|15000"
    assert fetch.breaker("bills").state == "closed"


async def test_a_refused_connection_is_unavailable(menu) -> None:
    clock = FakeClock()
    fetch = BackendFetcher(
        {"bills": backend("http://127.0.0.1:9")}, FetchSettings(), clock=clock.monotonic
    )
    try:
        journey = await drive(menu, ["991234567890"], engine=engine_for(fetch))
    finally:
        await fetch.close()
    assert journey.text == "Jaribu baadaye"


@pytest.mark.parametrize(
    "typed",
    [
        "../../admin",
        "..",
        "x@evil.example",
        "99#fragment",
        "99%2F..%2Fadmin",
        "http://evil.example/steal",
        "99\r\nX-Injected: 1",
        "a/b?c=d",
    ],
)
async def test_what_a_citizen_types_stays_one_path_segment(menu, bills, fetcher, typed) -> None:
    state, _ = bills
    journey = await drive(menu, [typed], engine=engine_for(fetcher[0]))
    assert journey.text == "Haipo"
    assert state.asked == [typed]  # decoded by the server: exactly what was typed, one segment
    assert state.raw_paths[0].startswith("/api/bills/")
    assert state.raw_paths[0].count("/") == 3


async def test_cache_reuses_an_answer_to_the_same_request(tmp_path, bills, fetcher) -> None:
    menu = build(
        tmp_path,
        BILLS.replace("    unavailable: later\n", "    unavailable: later\n    cache: 60s\n"),
    )
    fetch, clock = fetcher
    for _ in range(2):
        assert (await drive(menu, ["991234567890"], engine=engine_for(fetch))).text.startswith(
            "Asha"
        )
    assert bills[0].asked == ["991234567890"]
    clock.advance(61)
    await drive(menu, ["991234567890"], engine=engine_for(fetch))
    assert len(bills[0].asked) == 2


async def test_without_a_fetcher_the_citizen_gets_unavailable(menu) -> None:
    assert (await drive(menu, ["991234567890"])).text == "Jaribu baadaye"


def test_the_validator_checks_jmespath_and_lengths() -> None:
    broken = BILLS.replace("payer.name", '"payer..name"').replace("{payer: 12}", "{nobody: 12}")
    _definition, problems = parse(broken)
    messages = [p.message for p in problems]
    assert any("bad JMESPath" in m for m in messages), messages
    assert any("'max_length.nobody' is not a variable of 'set'" in m for m in messages)


def test_the_validator_sizes_screens_with_declared_lengths() -> None:
    too_long = BILLS.replace("{payer: 12}", "{payer: 160}").replace(
        'text: "{{ payer }}|{{ amount }}"', 'text: "{{ payer }} {{ payer }}"'
    )
    _definition, problems = parse(too_long)
    assert any(p.severity == "error" and "show" == p.screen for p in problems), problems


def test_graph_draws_three_exits(menu) -> None:
    edges = {(e.target, e.label) for e in menu.screens["find"].targets()}
    assert edges == {("show", "found"), ("missing", "not found"), ("later", "unavailable")}


def test_the_documented_example_validates() -> None:
    doc = (ROOT / "docs" / "menus.md").read_text(encoding="utf-8")
    section = doc.split("### `fetch`", 1)[1].split("\n### ", 1)[0]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert example.rstrip() == FetchScreen.example
    menu = (
        "service: docs\nlanguages: [sw, en]\nstart: ask\nscreens:\n"
        "  ask: {type: input, text: Namba, save_as: control_number, next: bill_find}\n"
        + "".join(f"  {line}\n" for line in example.splitlines())
        + "  bill_show: {type: end, text: '{{ payer }} {{ amount }}'}\n"
        "  bill_missing: {type: end, text: Haipo}\n"
        "  bill_later: {type: end, text: Baadaye}\n"
    )
    definition, problems = parse(menu)
    assert [p for p in problems if p.severity == "error"] == []
    assert definition is not None
    assert definition.screens["bill_find"].cache == 60


async def test_auth_headers_and_fields_outside_the_path_are_sent_as_for_deliveries(
    tmp_path: Path,
) -> None:
    """The backend's bearer token as deliveries send it; a field the path does not name goes in
    the query of a GET and in the JSON body of a POST, never in the URL's host."""
    seen: list[tuple[str, str, str, dict[str, str], Any]] = []

    async def answer(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        seen.append(
            (
                request.method,
                request.headers.get("Authorization", ""),
                request.match_info["number"],
                dict(request.query),
                body,
            )
        )
        return web.json_response({"payer": {"name": "Asha"}, "amount": 1})

    app = web.Application()
    app.router.add_route("*", "/bills/{number}", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    menu = build(
        tmp_path,
        BILLS.replace(
            'request: {control_number: "{{ control_number }}"}',
            'request: {control_number: "{{ control_number }}", year: "2027@evil.example"}',
        ),
    )
    clock = FakeClock()
    url = str(server.make_url("/bills"))
    try:
        for method in ("GET", "POST"):
            fetch = BackendFetcher(
                {"bills": backend(url, token="t0k3n", method=method)},
                FetchSettings(),
                clock=clock.monotonic,
            )
            try:
                journey = await drive(menu, ["991234567890"], engine=engine_for(fetch))
            finally:
                await fetch.close()
            assert journey.text == "Asha|1"
    finally:
        await server.close()
    assert seen == [
        ("GET", "Bearer t0k3n", "991234567890", {"year": "2027@evil.example"}, None),
        ("POST", "Bearer t0k3n", "991234567890", {}, {"year": "2027@evil.example"}),
    ]


async def test_an_empty_path_field_is_not_found_without_asking(tmp_path, bills, fetcher) -> None:
    """``/bills/`` may be another resource (every bill): an empty control number asks nothing."""
    blank = "\"{{ '' if control_number == 'x' else control_number }}\""
    menu = build(tmp_path, BILLS.replace('"{{ control_number }}"', blank))
    journey = await drive(menu, ["x"], engine=engine_for(fetcher[0]))
    assert journey.text == "Haipo"
    assert bills[0].asked == []
