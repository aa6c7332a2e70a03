"""The emulator against a real HTTP server: it must post exactly what Africa's Talking posts."""

from __future__ import annotations

import asyncio
import builtins
import io
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ussd_gateway.cli.emulator import (
    SCREEN_WIDTH,
    PhoneConfig,
    ProtocolError,
    format_status,
    main,
    parse_reply,
    render_screen,
    run_interactive,
    run_script,
    split_script,
)

PATH = "/ussd/africastalking"
WELCOME = "Karibu e-Mrejesho\n1. Toa malalamiko\n2. Hali ya ombi"


@dataclass
class FakeGateway:
    """A three-screen menu that records every form it receives."""

    forms: list[dict[str, str]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        self.forms.append({key: str(value) for key, value in form.items()})
        self.content_types.append(request.content_type)
        text = str(form.get("text", ""))
        if text == "":
            return web.Response(text=f"CON {WELCOME}")
        if text == "1":
            return web.Response(text="CON Andika malalamiko yako:")
        if text.startswith("1*"):
            return web.Response(text=f"END Asante. Tumepokea: {text[2:]}")
        if text == "2":
            return web.Response(text="END Ombi lako linashughulikiwa.")
        if text == "7":
            await self.release.wait()
            return web.Response(text="END too late")
        if text == "8":
            return web.Response(status=500, text="Internal Server Error")
        if text == "9":
            return web.Response(text="Karibu bila kiambishi")
        return web.Response(text="CON Chaguo batili.\n0. Rudi")


@pytest.fixture
async def gateway(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> AsyncIterator[tuple[FakeGateway, str]]:
    fake = FakeGateway()
    app = web.Application()
    app.router.add_post(PATH, fake.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    yield fake, str(server.make_url(PATH))
    fake.release.set()


@pytest.fixture
def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{PATH}"


def scripted_input(answers: Iterable[str], prompts: list[str]) -> Callable[[str], str]:
    """Stands in for ``input``: answers in turn, then EOF like Ctrl-D."""
    pending = iter(answers)

    def read(prompt: str) -> str:
        prompts.append(prompt)
        try:
            return next(pending)
        except StopIteration:
            raise EOFError from None

    return read


def shown(output: str) -> str:
    """Everything drawn inside the screen boxes, unwrapped, to search for a message."""
    inner = [line[2:-2].strip() for line in output.splitlines() if line.startswith("│")]
    return " ".join(inner)


# --- script mode against a real server -----------------------------------------------------


async def test_script_posts_aggregator_form_fields(gateway, capsys) -> None:
    fake, url = gateway
    config = PhoneConfig(url=url, code="*152*01#", phone="+255754000111", network="64002")

    assert await run_script(["1", "Huduma ni mbaya"], config) == 0

    assert [form["text"] for form in fake.forms] == ["", "1", "1*Huduma ni mbaya"]
    session_ids = {form["sessionId"] for form in fake.forms}
    assert len(session_ids) == 1
    assert session_ids.pop().startswith("ATUid_")
    for form in fake.forms:
        assert set(form) == {"sessionId", "serviceCode", "phoneNumber", "networkCode", "text"}
        assert form["serviceCode"] == "*152*01#"
        assert form["phoneNumber"] == "+255754000111"
        assert form["networkCode"] == "64002"
    assert set(fake.content_types) == {"application/x-www-form-urlencoded"}

    out = capsys.readouterr().out
    assert "Karibu e-Mrejesho" in out
    assert "1. Toa malalamiko" in out
    assert "Andika malalamiko yako:" in out
    assert "Asante. Tumepokea: Huduma ni mbaya" in shown(out)
    assert "> Huduma ni mbaya" in out
    assert "END · len" in out


async def test_script_defaults(gateway) -> None:
    fake, url = gateway
    assert await run_script([], PhoneConfig(url=url)) == 0
    (form,) = fake.forms
    assert form["serviceCode"] == "*152*00#"
    assert form["phoneNumber"] == "+255712345678"
    assert form["networkCode"] == "64004"
    assert form["text"] == ""


async def test_entry_containing_star_is_sent_verbatim(gateway) -> None:
    fake, url = gateway
    assert await run_script(["1", "ankara *123# imelipwa"], PhoneConfig(url=url)) == 0
    assert fake.forms[-1]["text"] == "1*ankara *123# imelipwa"


async def test_each_dial_gets_a_fresh_session_id(gateway) -> None:
    fake, url = gateway
    config = PhoneConfig(url=url)
    assert await run_script(["1", "x"], config) == 0
    assert await run_script(["1", "y"], config) == 0
    first, second = fake.forms[:3], fake.forms[3:]
    assert len({form["sessionId"] for form in first}) == 1
    assert len({form["sessionId"] for form in second}) == 1
    assert first[0]["sessionId"] != second[0]["sessionId"]


async def test_end_stops_the_run(gateway, capsys) -> None:
    fake, url = gateway
    assert await run_script(["2", "1", "1"], PhoneConfig(url=url)) == 0
    assert [form["text"] for form in fake.forms] == ["", "2"]
    out = capsys.readouterr().out
    assert "Ombi lako linashughulikiwa." in shown(out)
    assert "2 unused entries" in out


async def test_entries_running_out_on_con_is_success(gateway, capsys) -> None:
    fake, url = gateway
    assert await run_script(["1"], PhoneConfig(url=url)) == 0
    assert len(fake.forms) == 2
    assert "hanging up" in capsys.readouterr().out


async def test_reply_without_con_or_end_is_an_error(gateway, capsys) -> None:
    _, url = gateway
    assert await run_script(["9", "1"], PhoneConfig(url=url)) == 1
    err = capsys.readouterr().err
    assert 'does not start with "CON " or "END "' in err
    assert "Karibu bila kiambishi" in err


async def test_http_500_is_an_error(gateway, capsys) -> None:
    fake, url = gateway
    assert await run_script(["8", "1"], PhoneConfig(url=url)) == 1
    assert len(fake.forms) == 2
    assert "HTTP 500" in capsys.readouterr().err


async def test_slow_gateway_times_out(gateway, capsys) -> None:
    _, url = gateway
    assert await run_script(["7"], PhoneConfig(url=url, timeout=0.2)) == 1
    assert "no answer from" in capsys.readouterr().err


async def test_closed_port_says_cannot_reach(closed_url, capsys) -> None:
    assert await run_script(["1"], PhoneConfig(url=closed_url)) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines == [f"cannot reach {closed_url}: is the gateway running? (ussd-gateway serve)"]


# --- the console script --------------------------------------------------------------------


async def test_main_script_mode_parses_options(gateway, capsys) -> None:
    fake, url = gateway
    argv = [
        "--url",
        url,
        "--code",
        "*152*05#",
        "--phone",
        "+255688000222",
        "--network",
        "64005",
        "--no-color",
        "--script",
        r"1,Maji\, umeme na barabara",
    ]
    assert await asyncio.to_thread(main, argv) == 0
    assert fake.forms[-1]["text"] == "1*Maji, umeme na barabara"
    assert {f["serviceCode"] for f in fake.forms} == {"*152*05#"}
    assert {f["phoneNumber"] for f in fake.forms} == {"+255688000222"}
    assert {f["networkCode"] for f in fake.forms} == {"64005"}
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    assert "Tumepokea: Maji, umeme na barabara" in shown(out)


async def test_main_reads_url_from_environment(closed_url, monkeypatch, capsys) -> None:
    monkeypatch.setenv("USSD_EMULATOR_URL", closed_url)
    assert await asyncio.to_thread(main, ["--script", "1"]) == 1
    captured = capsys.readouterr()
    assert f"cannot reach {closed_url}" in captured.err
    assert "Traceback" not in captured.err


def test_main_rejects_a_url_without_scheme(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--url", "127.0.0.1:8080/ussd", "--script", "1"])
    assert exc.value.code == 2
    assert "not an http(s) URL" in capsys.readouterr().err


async def test_ctrl_c_exits_cleanly(gateway, monkeypatch, capsys) -> None:
    _, url = gateway

    def interrupted(prompt: str) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(builtins, "input", interrupted)
    assert await asyncio.to_thread(main, ["--url", url, "--no-color"]) == 130
    captured = capsys.readouterr()
    assert "Karibu e-Mrejesho" in captured.out
    assert "Traceback" not in captured.err


# --- interactive mode ----------------------------------------------------------------------


async def test_interactive_end_then_dial_again_with_fresh_session(gateway) -> None:
    fake, url = gateway
    prompts: list[str] = []
    out, err = io.StringIO(), io.StringIO()
    read = scripted_input(["1", "Foleni ndefu", "", "2", "n"], prompts)

    code = await asyncio.to_thread(
        run_interactive, PhoneConfig(url=url), input_fn=read, out=out, err=err
    )

    assert code == 0
    assert prompts == ["> ", "> ", "dial again? [Y/n] ", "> ", "dial again? [Y/n] "]
    assert [form["text"] for form in fake.forms] == ["", "1", "1*Foleni ndefu", "", "2"]
    assert fake.forms[0]["sessionId"] == fake.forms[2]["sessionId"]
    assert fake.forms[3]["sessionId"] == fake.forms[4]["sessionId"]
    assert fake.forms[0]["sessionId"] != fake.forms[3]["sessionId"]
    assert "Tumepokea: Foleni ndefu" in shown(out.getvalue())
    assert err.getvalue() == ""


@pytest.mark.parametrize("answers", [[":q"], []], ids=["colon-q", "ctrl-d"])
async def test_interactive_hang_up(gateway, answers: list[str]) -> None:
    fake, url = gateway
    prompts: list[str] = []
    out = io.StringIO()
    code = await asyncio.to_thread(
        run_interactive, PhoneConfig(url=url), input_fn=scripted_input(answers, prompts), out=out
    )
    assert code == 0
    assert prompts == ["> "]
    assert len(fake.forms) == 1
    assert "hung up" in out.getvalue()


async def test_interactive_protocol_error_ends_the_dial(gateway) -> None:
    fake, url = gateway
    prompts: list[str] = []
    err = io.StringIO()
    code = await asyncio.to_thread(
        run_interactive,
        PhoneConfig(url=url),
        input_fn=scripted_input(["8", "n"], prompts),
        out=io.StringIO(),
        err=err,
    )
    assert code == 1
    assert prompts == ["> ", "dial again? [Y/n] "]
    assert [form["text"] for form in fake.forms] == ["", "8"]
    assert "HTTP 500" in err.getvalue()


async def test_interactive_unreachable_exits_at_once(closed_url) -> None:
    prompts: list[str] = []
    err = io.StringIO()
    code = await asyncio.to_thread(
        run_interactive,
        PhoneConfig(url=closed_url),
        input_fn=scripted_input(["1"], prompts),
        out=io.StringIO(),
        err=err,
    )
    assert code == 1
    assert prompts == []
    assert err.getvalue().strip() == (
        f"cannot reach {closed_url}: is the gateway running? (ussd-gateway serve)"
    )


# --- pure pieces ---------------------------------------------------------------------------


def test_render_screen_wraps_inside_the_box() -> None:
    text = "Karibu huduma za Serikali.\n1. Lipa ankara ya maji na umeme kwa simu yako\n\n0. Rudi"
    screen = render_screen(text, width=30, title="*152*00#")
    lines = screen.splitlines()
    assert all(len(line) == 30 for line in lines)
    assert lines[0].startswith("┌─ *152*00# ─")
    assert lines[-1] == "└" + "─" * 28 + "┘"
    inner = [line[2:-2].rstrip() for line in lines[1:-1]]
    assert inner == [
        "Karibu huduma za Serikali.",
        "1. Lipa ankara ya maji na",
        "umeme kwa simu yako",
        "",
        "0. Rudi",
    ]


def test_render_screen_breaks_long_words_and_keeps_empty_screens() -> None:
    lines = render_screen("x" * 60, width=20).splitlines()
    assert [line[2:-2] for line in lines[1:-1]] == ["x" * 16, "x" * 16, "x" * 16, "x" * 12 + "    "]
    assert render_screen("", width=SCREEN_WIDTH).splitlines()[1] == "│" + " " * 28 + "│"
    with pytest.raises(ValueError, match="too narrow"):
        render_screen("a", width=6)


def test_status_counts_like_the_phone() -> None:
    status = format_status("Karibu [1]", end=False, elapsed_ms=42.4)
    assert status == "CON · len 12/182 gsm7 · 42 ms"
    assert "too long" not in format_status("a" * 182, end=True, elapsed_ms=1)


def test_status_warns_when_over_the_limit() -> None:
    status = format_status("a" * 89 + "\u2019", end=True, elapsed_ms=7)
    assert status.startswith("END · len 90/80 ucs2 ⚠ too long · 7 ms")
    assert "because of: \u2019" in status
    assert "len 183/182 gsm7 ⚠ too long" in format_status("a" * 183, end=False, elapsed_ms=0)
    assert "U+00A0 NO-BREAK SPACE" in format_status("a\u00a0b", end=False, elapsed_ms=0)


@pytest.mark.parametrize(
    ("script", "entries"),
    [
        ("", []),
        ("1", ["1"]),
        ("1,2,Huduma ni mbaya", ["1", "2", "Huduma ni mbaya"]),
        (r"1,Maji\, umeme,3", ["1", "Maji, umeme", "3"]),
        (r"a\\,b", ["a\\", "b"]),
        (r"C:\path", [r"C:\path"]),
        ("1,,2", ["1", "", "2"]),
        (" 1 ,*123#", [" 1 ", "*123#"]),
    ],
)
def test_split_script(script: str, entries: list[str]) -> None:
    assert split_script(script) == entries


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, "CON Karibu", (False, "Karibu")),
        (200, "END Asante", (True, "Asante")),
        (200, "END", (True, "")),
        (200, "CON Mstari 1\nMstari 2", (False, "Mstari 1\nMstari 2")),
    ],
)
def test_parse_reply(status: int, body: str, expected: tuple[bool, str]) -> None:
    assert parse_reply(status, body) == expected


@pytest.mark.parametrize(
    ("status", "body"), [(200, "CONKaribu"), (200, " CON x"), (200, "con x"), (404, "CON x")]
)
def test_parse_reply_rejects_what_the_aggregator_would(status: int, body: str) -> None:
    with pytest.raises(ProtocolError):
        parse_reply(status, body)
