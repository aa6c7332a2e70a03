"""A feature phone in the terminal, dialling a running gateway the way Africa's Talking does.

Menus are written and reviewed by people who do not carry a 2G handset, so this draws each reply
as the phone would show it and counts its length as the network does. It speaks the aggregator's
real HTTP protocol against a real gateway, so what works here works behind the aggregator.

    ussd-emulator                                    # interactive
    ussd-emulator --script "1,3,Huduma ni mbaya"     # non-interactive, for docs and smoke tests
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import textwrap
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

import aiohttp
from yarl import URL

from ussd_gateway.domain.gsm import non_gsm7_chars, ussd_length

DEFAULT_URL = "http://127.0.0.1:8080/ussd/africastalking"
DEFAULT_CODE = "*152*00#"
DEFAULT_PHONE = "+255712345678"
DEFAULT_NETWORK = "64004"
DEFAULT_TIMEOUT = 15.0
SCREEN_WIDTH = 30
"""Columns of the drawn box, borders included: about what a feature phone shows."""

HANGUP = ":q"
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class PhoneConfig:
    """Who is dialling what, and where the gateway listens."""

    url: str = DEFAULT_URL
    code: str = DEFAULT_CODE
    phone: str = DEFAULT_PHONE
    network: str = DEFAULT_NETWORK
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True, slots=True)
class Reply:
    """One screen sent back by the gateway."""

    end: bool
    """True for ``END``: the network closes the session after showing it."""
    text: str
    """What the phone displays: the body without its ``CON ``/``END `` prefix."""
    elapsed_ms: float


class EmulatorError(Exception):
    """A hop failed; the message is the single line shown to the user."""


class GatewayUnreachable(EmulatorError):
    """Nothing is listening at the URL: no point redialling."""


class ProtocolError(EmulatorError):
    """The gateway answered in a way the aggregator would treat as the session ending."""


def new_session_id() -> str:
    """A fresh id in the aggregator's shape: each dial is a new session for the gateway."""
    return f"ATUid_{uuid.uuid4().hex}"


def _snippet(body: str, limit: int = 80) -> str:
    return repr(body if len(body) <= limit else body[:limit] + "…")


def parse_reply(status: int, body: str) -> tuple[bool, str]:
    """``(end, screen text)`` of an aggregator-protocol answer, strictly as the aggregator reads it.

    Raises ``ProtocolError`` for anything the aggregator would not show to the citizen.
    """
    if status != 200:
        raise ProtocolError(
            f"gateway answered HTTP {status} {_snippet(body)}: the aggregator would end the session"
        )
    for prefix, end in (("CON", False), ("END", True)):
        if body == prefix:
            return end, ""
        if body.startswith(prefix + " "):
            return end, body[len(prefix) + 1 :]
    raise ProtocolError(
        f'reply does not start with "CON " or "END ": {_snippet(body)}:'
        " the aggregator would end the session"
    )


class Dial:
    """One USSD session: a fresh session id and everything the citizen typed in it.

    The aggregator sends the whole input so far on every hop, joined with ``*``, so entries are
    kept verbatim (an entry may itself contain ``*``).
    """

    def __init__(self, http: aiohttp.ClientSession, config: PhoneConfig) -> None:
        self._http = http
        self._config = config
        self.session_id = new_session_id()
        self.entries: list[str] = []

    @property
    def text(self) -> str:
        return "*".join(self.entries)

    def form(self) -> dict[str, str]:
        """The exact form fields the aggregator posts for the current hop."""
        return {
            "sessionId": self.session_id,
            "serviceCode": self._config.code,
            "phoneNumber": self._config.phone,
            "networkCode": self._config.network,
            "text": self.text,
        }

    async def start(self) -> Reply:
        """Dial the service code: the first hop carries an empty ``text``."""
        return await self._post()

    async def send(self, entry: str) -> Reply:
        """Answer the current screen."""
        self.entries.append(entry)
        return await self._post()

    async def _post(self) -> Reply:
        url = self._config.url
        started = time.perf_counter()
        try:
            async with self._http.post(url, data=self.form()) as response:
                raw = await response.read()
                status, charset = response.status, response.charset or "utf-8"
        except TimeoutError as exc:  # includes aiohttp's connect and read timeouts
            raise ProtocolError(
                f"no answer from {url} within {self._config.timeout:g}s:"
                " the aggregator would end the session"
            ) from exc
        except aiohttp.ClientSSLError as exc:
            raise GatewayUnreachable(f"TLS failure talking to {url}: {exc}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise GatewayUnreachable(
                f"cannot reach {url}: is the gateway running? (ussd-gateway serve)"
            ) from exc
        except aiohttp.ClientError as exc:
            raise ProtocolError(f"request to {url} failed: {exc or type(exc).__name__}") from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        try:
            body = raw.decode(charset, errors="replace")
        except LookupError:
            body = raw.decode("utf-8", errors="replace")
        end, text = parse_reply(status, body)
        return Reply(end=end, text=text, elapsed_ms=elapsed_ms)


def split_script(script: str) -> list[str]:
    r"""Entries of a ``--script`` value: comma-separated, ``\,`` is a literal comma, ``\\`` a
    backslash. Entries are kept exactly as written, spaces included. An empty script has none.
    """
    if script == "":
        return []
    entries: list[str] = []
    current: list[str] = []
    chars = iter(script)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            if nxt in (",", "\\"):
                current.append(nxt)
            else:  # not an escape: keep the backslash as typed
                current.append(ch + nxt)
        elif ch == ",":
            entries.append("".join(current))
            current = []
        else:
            current.append(ch)
    entries.append("".join(current))
    return entries


def render_screen(text: str, width: int = SCREEN_WIDTH, title: str = "") -> str:
    """Draw ``text`` in a box ``width`` columns wide, wrapped as a narrow phone display would.

    Line breaks from the gateway are kept; long words are broken rather than overflowing.
    """
    inner = width - 4
    if inner < 4:
        raise ValueError(f"screen width {width} is too narrow")
    wrapper = textwrap.TextWrapper(width=inner, break_long_words=True, replace_whitespace=False)
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        lines.extend(wrapper.wrap(paragraph.expandtabs(4)) or [""])
    label = f" {title} " if title and len(title) + 2 <= width - 4 else ""
    top = "┌─" + label + "─" * (width - 3 - len(label)) + "┐"
    body = [f"│ {line.ljust(inner)} │" for line in lines]
    bottom = "└" + "─" * (width - 2) + "┘"
    return "\n".join([top, *body, bottom])


@dataclass(frozen=True, slots=True)
class Style:
    """ANSI colours, or none when output is not a terminal or ``--no-color`` is given."""

    enabled: bool = False

    def _paint(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._paint("1", text)

    def dim(self, text: str) -> str:
        return self._paint("2", text)

    def red(self, text: str) -> str:
        return self._paint("31", text)

    def yellow(self, text: str) -> str:
        return self._paint("33", text)


def _describe_char(ch: str) -> str:
    """A character as a reader can find it: invisible ones by code point."""
    if ch.isprintable() and not ch.isspace():
        return ch
    return f"U+{ord(ch):04X}" + (f" {unicodedata.name(ch, '')}".rstrip())


def format_status(text: str, *, end: bool, elapsed_ms: float, style: Style | None = None) -> str:
    """Status line under a screen: CON/END, length as the phone counts it, round trip.

    Over-long replies are cut or dropped by the network, and one stray character halves the room,
    so both are called out.
    """
    style = style or Style()
    used, limit, encoding = ussd_length(text)
    length = f"len {used}/{limit} {encoding}"
    if used > limit:
        length = style.red(f"{length} ⚠ too long")
    parts = [style.bold("END" if end else "CON"), length, f"{elapsed_ms:.0f} ms"]
    if encoding == "ucs2":
        culprits = non_gsm7_chars(text)
        shown = ", ".join(_describe_char(ch) for ch in culprits[:5])
        more = ", …" if len(culprits) > 5 else ""
        parts.append(style.yellow(f"ucs2 because of: {shown}{more}"))
    return " · ".join(parts)


class Console:
    """Where screens, notes and errors go; kept apart so tests can capture them."""

    def __init__(self, config: PhoneConfig, style: Style, out: TextIO, err: TextIO) -> None:
        self.config = config
        self.style = style
        self.out = out
        self.err = err

    def screen(self, reply: Reply) -> None:
        print(render_screen(reply.text, SCREEN_WIDTH, self.config.code), file=self.out)
        status = format_status(
            reply.text, end=reply.end, elapsed_ms=reply.elapsed_ms, style=self.style
        )
        print(status, file=self.out, flush=True)

    def entry(self, entry: str) -> None:
        print(f"> {entry}", file=self.out, flush=True)

    def note(self, message: str) -> None:
        print(self.style.dim(message), file=self.out, flush=True)

    def error(self, message: str) -> None:
        self.out.flush()
        print(self.style.red(message), file=self.err, flush=True)


def _client(config: PhoneConfig) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=config.timeout),
        headers={"User-Agent": "ussd-emulator"},
    )


async def run_script(
    entries: Sequence[str],
    config: PhoneConfig | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    color: bool = False,
) -> int:
    """Dial once and send ``entries`` in turn, printing every screen.

    Returns 0 when the session reached END or the entries ran out on an open screen, 1 when a
    hop failed (unreachable gateway, HTTP error, malformed reply, timeout).
    """
    config = config or PhoneConfig()
    console = Console(config, Style(color), out or sys.stdout, err or sys.stderr)
    sent = 0
    async with _client(config) as http:
        dial = Dial(http, config)
        try:
            reply = await dial.start()
            console.screen(reply)
            for entry in entries:
                if reply.end:
                    break
                console.entry(entry)
                reply = await dial.send(entry)
                sent += 1
                console.screen(reply)
        except EmulatorError as exc:
            console.error(str(exc))
            return 1
    unused = len(entries) - sent
    if reply.end and unused:
        console.note(f"session ended with {unused} unused entr{'y' if unused == 1 else 'ies'}")
    elif not reply.end:
        console.note("entries used up: hanging up")
    return 0


def run_interactive(
    config: PhoneConfig | None = None,
    *,
    input_fn: Callable[[str], str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    color: bool = False,
) -> int:
    """Dial, show each screen, read answers from the keyboard; offer to redial after END.

    Input is read synchronously between hops (not in a worker thread) so Ctrl-C interrupts it at
    once instead of waiting for Enter. ``KeyboardInterrupt`` propagates to ``main``.
    Returns 1 when the gateway cannot be reached or the last dial failed, else 0.
    """
    config = config or PhoneConfig()
    read = input_fn or input
    console = Console(config, Style(color), out or sys.stdout, err or sys.stderr)
    with asyncio.Runner() as runner:
        http = runner.run(_open_client(config))
        try:
            return _interactive_loop(runner, http, config, console, read)
        finally:
            runner.run(http.close())


async def _open_client(config: PhoneConfig) -> aiohttp.ClientSession:
    return _client(config)  # created inside the runner's loop, which it binds to


def _interactive_loop(
    runner: asyncio.Runner,
    http: aiohttp.ClientSession,
    config: PhoneConfig,
    console: Console,
    read: Callable[[str], str],
) -> int:
    while True:
        dial = Dial(http, config)
        failed = False
        try:
            reply = runner.run(dial.start())
            console.screen(reply)
            while not reply.end:
                try:
                    entry = read("> ")
                except EOFError:
                    entry = HANGUP
                if entry.strip() == HANGUP:
                    console.note("hung up")
                    return 0
                reply = runner.run(dial.send(entry))
                console.screen(reply)
        except GatewayUnreachable as exc:
            console.error(str(exc))
            return 1
        except EmulatorError as exc:
            console.error(str(exc))
            failed = True
        try:
            again = read("dial again? [Y/n] ")
        except EOFError:
            return 1 if failed else 0
        if again.strip().lower() not in ("", "y", "yes"):
            return 1 if failed else 0


def _url(value: str) -> str:
    url = URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value!r}")
    return value


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ussd-emulator",
        description="Dial a running ussd-gateway as a phone behind Africa's Talking would.",
        epilog=(
            f"Interactive: type an answer at '> ', '{HANGUP}' or Ctrl-D to hang up, Ctrl-C to quit."
        ),
    )
    parser.add_argument(
        "--url",
        type=_url,
        default=os.environ.get("USSD_EMULATOR_URL", DEFAULT_URL),
        help="gateway callback URL (env USSD_EMULATOR_URL; default %(default)s)",
    )
    parser.add_argument("--code", default=DEFAULT_CODE, help="service code (default %(default)s)")
    parser.add_argument("--phone", default=DEFAULT_PHONE, help="MSISDN (default %(default)s)")
    parser.add_argument(
        "--network", default=DEFAULT_NETWORK, help="mobile network code (default %(default)s)"
    )
    parser.add_argument(
        "--script",
        metavar="ENTRIES",
        help=(
            'run non-interactively: comma-separated answers, e.g. "1,2,Huduma ni mbaya". '
            r"Write \, for a comma inside an answer and \\ for a backslash; "
            "answers are sent exactly as written, spaces and * included. "
            "Exit 0 on END or when the answers run out, 1 on any error."
        ),
    )
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for each reply (default %(default)g)",
    )
    parser.add_argument("--no-color", action="store_true", help="plain output, no ANSI colours")
    return parser


def _tolerate_unencodable_output() -> None:
    """Box drawing and ⚠ must not crash a terminal whose encoding lacks them."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    """Console entry point ``ussd-emulator``."""
    args = build_parser().parse_args(argv)
    config = PhoneConfig(
        url=args.url, code=args.code, phone=args.phone, network=args.network, timeout=args.timeout
    )
    color = not args.no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    _tolerate_unencodable_output()
    try:
        if args.script is not None:
            return asyncio.run(run_script(split_script(args.script), config, color=color))
        return run_interactive(config, color=color)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
