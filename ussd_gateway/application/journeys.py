"""Journey tests written by operators: dial, type, and check what the phone shows.

A journey file (``menus/tests/*.yaml``) lists journeys; each is a list of steps run against the
real gateway logic (HopService: sessions, retries, resume, extended codes; the engine; a real
SQLite submission store) in this process, with an in-memory session store and a throw-away
database. No server, no Redis. A failing step prints a unified diff of what was expected against
the screen the phone showed.

Every scalar in a journey file is read as text, so ``send: 00`` types "00" (home), not 0 (back).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.migrate import upgrade
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.adapters.sessions import MemorySessionStore
from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.application.factory import build_hops
from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.application.menus.routing import ServiceRouter
from ussd_gateway.config.settings import Settings
from ussd_gateway.domain.fetch import Answer, FetchRequest, FetchResult
from ussd_gateway.domain.references import check_symbol, is_valid, normalise
from ussd_gateway.domain.submissions import SubmissionDraft, SubmissionView
from ussd_gateway.domain.ussd import UssdRequest
from ussd_gateway.engine.definition import MenuDefinition, Problem
from ussd_gateway.engine.yaml_source import key_line, line_of, load_yaml_text

FILE_KEYS = frozenset(
    {"service", "code", "phone", "language", "submissions", "down", "stubs", "journeys"}
)
"""Keys of a journey file; all but ``journeys`` are defaults for every journey in it."""
JOURNEY_KEYS = frozenset(
    {"name", "service", "code", "phone", "language", "submissions", "down", "stubs", "steps"}
)
STEP_KEYS = frozenset(
    {"dial", "send", "expect", "expect_not", "reply", "screen", "end", "submitted"}
)
SUBMISSION_KEYS = frozenset({"reference", "status", "note", "kind", "date"})
DOWN_PARTS = frozenset({"submit", "lookup"})
"""Parts of the submission store a journey can make fail; any other name in ``down`` is a
backend whose ``fetch`` screens then get ``unavailable``."""
ANY_REQUEST = "*"
"""The stub answer for requests no other stub key matches."""
DEFAULT_PHONE = "+255700000001"
PROVIDER = "journey"

TRUE = {"true", "yes", "on"}
FALSE = {"false", "no", "off"}


# ---- the file format -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    line: int | None
    dial: str | None = None
    """A new call: the code dialled (``""`` for the journey's code)."""
    send: str | None = None
    expect: tuple[str, ...] = ()
    expect_not: tuple[str, ...] = ()
    reply: str | None = None
    screen: str | None = None
    end: bool | None = None
    submitted: Mapping[str, str] | None = None
    """Fields of the newest stored submission: ``kind``, ``anonymous``, ``phone`` or data."""

    @property
    def action(self) -> str:
        if self.dial is not None:
            return f"dial {self.dial}".rstrip()
        return f'send "{self.send}"'


@dataclass(frozen=True, slots=True)
class Seed:
    """A submission already in the database (e.g. one a citizen will track)."""

    reference: str
    status: str = "pending"
    note: str | None = None
    kind: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Journey:
    file: str
    line: int | None
    name: str
    service: str | None
    code: str | None
    phone: str
    language: str | None
    """Language the phone number chose on an earlier call, if any."""
    submissions: tuple[Seed, ...]
    down: frozenset[str]
    """Parts of the submission store that fail (``submit``, ``lookup``) and backends that do."""
    steps: tuple[Step, ...]
    stubs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per backend, per request (its field values joined by ``/``, or ``*``): a JSON document
    (found) or an HTTP status (404: not found; any other: unavailable)."""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class _Reader:
    """Collects problems with their lines while a journey file is read."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.where = "-"

    def problem(self, message: str, value: Any = None, key: str | None = None) -> None:
        line = key_line(value, key) if key is not None else line_of(value)
        self.problems.append(Problem(self.file, self.where, message, line))

    def unknown(self, raw: Mapping[str, Any], known: Iterable[str], what: str) -> None:
        for key in raw:
            if key not in known:
                self.problem(
                    f"unknown key '{key}' in {what} (known: {', '.join(sorted(known))})", raw, key
                )

    def texts(self, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = raw.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.problem(f"'{key}' must be a text or a list of texts", raw, key)
        return ()

    def text(self, raw: Mapping[str, Any], key: str) -> str | None:
        value = raw.get(key)
        if value is None or isinstance(value, str):
            return value
        self.problem(f"'{key}' must be a text", raw, key)
        return None

    def boolean(self, raw: Mapping[str, Any], key: str) -> bool | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.lower() in TRUE | FALSE:
            return value.lower() in TRUE
        self.problem(f"'{key}' must be true or false", raw, key)
        return None


def _step(reader: _Reader, raw: Any) -> Step | None:
    if not isinstance(raw, Mapping):
        reader.problem('a step must be a mapping such as {send: "1", expect: "..."}')
        return None
    reader.unknown(raw, STEP_KEYS, "a step")
    if ("dial" in raw) == ("send" in raw):
        reader.problem("a step needs exactly one of 'dial' or 'send'", raw)
        return None
    dial = reader.text(raw, "dial")
    if "dial" in raw and dial is None:
        return None
    send = reader.text(raw, "send")
    if "send" in raw and send is None:
        return None
    submitted = raw.get("submitted")
    if submitted is not None and not (
        isinstance(submitted, Mapping) and all(isinstance(v, str) for v in submitted.values())
    ):
        reader.problem("'submitted' must map field names to values", raw, "submitted")
        submitted = None
    return Step(
        line=line_of(raw),
        dial=dial,
        send=send,
        expect=reader.texts(raw, "expect"),
        expect_not=reader.texts(raw, "expect_not"),
        reply=reader.text(raw, "reply"),
        screen=reader.text(raw, "screen"),
        end=reader.boolean(raw, "end"),
        submitted=dict(submitted) if submitted is not None else None,
    )


def _seeds(reader: _Reader, raw: Any) -> tuple[Seed, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        reader.problem("'submissions' must be a list of {reference, status, note}")
        return ()
    seeds: list[Seed] = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("reference"), str):
            reader.problem("each submission needs a 'reference'", item)
            continue
        reader.unknown(item, SUBMISSION_KEYS, "a submission")
        reference = normalise(item["reference"])
        if not is_valid(reference):
            hint = ""
            body = reference[:7]
            with contextlib.suppress(ValueError):
                if len(body) == 7:
                    hint = f"; with its check symbol it would be {body}{check_symbol(body)}"
            reader.problem(f"'{item['reference']}' is not a valid reference{hint}", item)
            continue
        date = None
        if "date" in item:
            try:
                date = dt.date.fromisoformat(str(item["date"]))
            except ValueError:
                reader.problem("'date' must be written 2024-03-05", item, "date")
        seeds.append(
            Seed(
                reference,
                str(item.get("status") or "pending"),
                item.get("note"),
                item.get("kind"),
                date,
            )
        )
    return tuple(seeds)


def _down(reader: _Reader, raw: Any) -> frozenset[str]:
    if raw is None:
        return frozenset()
    parts = [raw] if isinstance(raw, str) else raw
    if not isinstance(parts, list) or not all(isinstance(p, str) and p for p in parts):
        reader.problem(
            f"'down' lists parts that fail: {', '.join(sorted(DOWN_PARTS))} or backend names"
        )
        return frozenset()
    return frozenset(parts)


def _stubs(reader: _Reader, raw: Any) -> Mapping[str, Mapping[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(v, Mapping) for v in raw.values()):
        reader.problem("'stubs' maps backend names to {request: reply document or status}", raw)
        return {}
    stubs: dict[str, dict[str, Any]] = {}
    for backend, answers in raw.items():
        stubs[str(backend)] = {}
        for key, answer in answers.items():
            if not isinstance(answer, Mapping | list) and not str(answer).isdigit():
                reader.problem(
                    f"stub {backend}.{key}: a reply document or an HTTP status", answers, key
                )
                continue
            stubs[str(backend)][str(key)] = answer
    return stubs


def load_journeys(path: Path | str) -> tuple[list[Journey], list[Problem]]:
    """The journeys of one file and every problem with it (file:line: journey: message)."""
    path = Path(path)
    reader = _Reader(str(path))
    try:
        raw = load_yaml_text(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return [], [Problem(str(path), "-", f"cannot read: {exc}")]
    except Exception as exc:  # yaml errors carry their position
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return [], [
            Problem(str(path), "-", f"not valid YAML: {getattr(exc, 'problem', exc)}", line)
        ]
    if not isinstance(raw, Mapping):
        return [], [Problem(str(path), "-", "a journey file is a mapping with 'journeys'")]
    reader.unknown(raw, FILE_KEYS, "a journey file")
    raw_journeys = raw.get("journeys")
    if not isinstance(raw_journeys, list) or not raw_journeys:
        reader.problem("'journeys' must be a non-empty list", raw, "journeys")
        return [], reader.problems
    journeys: list[Journey] = []
    for number, item in enumerate(raw_journeys, start=1):
        reader.where = f"journey {number}"
        if not isinstance(item, Mapping):
            reader.problem("a journey must be a mapping with 'name' and 'steps'", raw, "journeys")
            continue
        name = item.get("name")
        if isinstance(name, str) and name:
            reader.where = name
        else:
            reader.problem("a journey needs a 'name'", item)
            name = f"journey {number}"
        reader.unknown(item, JOURNEY_KEYS, "a journey")

        def default(key: str, item: Mapping[str, Any] = item) -> Any:
            return item.get(key, raw.get(key))

        raw_steps = item.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            reader.problem("'steps' must be a non-empty list", item)
            continue
        steps = [s for s in (_step(reader, s) for s in raw_steps) if s is not None]
        if steps and steps[0].dial is None:
            steps.insert(0, Step(line=steps[0].line, dial=""))
        service, code = default("service"), default("code")
        if not service and not code:
            reader.problem("say which 'service' (or 'code') the journey dials", item)
        journeys.append(
            Journey(
                file=str(path),
                line=line_of(item),
                name=name,
                service=service,
                code=code,
                phone=str(default("phone") or DEFAULT_PHONE),
                language=default("language"),
                submissions=_seeds(reader, default("submissions")),
                down=_down(reader, default("down")),
                steps=tuple(steps),
                stubs=_stubs(reader, default("stubs")),
            )
        )
    return journeys, reader.problems


def journey_files(paths: Sequence[Path | str]) -> list[Path]:
    """Files named, and ``*.yaml`` files of directories named, in a stable order."""
    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return files


# ---- running -------------------------------------------------------------------------------


@dataclass(slots=True)
class Failure:
    step: Step
    number: int
    messages: list[str]
    screen: str

    def __str__(self) -> str:
        where = f" (line {self.step.line})" if self.step.line else ""
        lines = [f"  step {self.number}{where}: {self.step.action}"]
        lines += [f"    {m}" for m in "\n".join(self.messages).splitlines()]
        return "\n".join(lines)


@dataclass(slots=True)
class JourneyResult:
    journey: Journey
    failure: Failure | None = None
    problems: list[Problem] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)
    """Every screen the phone showed, ``CON ...``/``END ...``."""

    @property
    def passed(self) -> bool:
        return self.failure is None and not self.problems

    def report(self) -> str:
        j = self.journey
        steps = len(j.steps)
        if self.passed:
            return f"PASS {j.where}: {j.name} ({steps} steps)"
        lines = [f"FAIL {j.where}: {j.name}"]
        lines += [f"  {p}" for p in self.problems]
        if self.failure is not None:
            lines.append(str(self.failure))
        return "\n".join(lines)


def _diff(expected: str, actual: str) -> str:
    return "\n".join(
        difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "expected", "actual", lineterm=""
        )
    )


def check_step(step: Step, text: str, end: bool, screen: str) -> list[str]:
    """What is wrong with a reply (``text`` without CON/END), as readable messages."""
    shown = ("END " if end else "CON ") + text
    wrong: list[str] = []
    if step.reply is not None and step.reply.rstrip("\n") != text:
        wrong.append("screen differs:\n" + _diff(step.reply.rstrip("\n"), text))
    for fragment in step.expect:
        if fragment not in text:
            wrong.append(f"expected to contain {fragment!r}:\n" + _diff(fragment, text))
    for fragment in step.expect_not:
        if fragment in text:
            wrong.append(f"expected NOT to contain {fragment!r}; the phone showed:\n{shown}")
    if step.screen is not None and step.screen != screen:
        wrong.append(f"expected screen '{step.screen}', was on '{screen}':\n{shown}")
    if step.end is not None and step.end != end:
        want, got = ("END", "CON") if step.end else ("CON", "END")
        wrong.append(f"expected the session to {want}, it showed {got}:\n{shown}")
    return wrong


async def newest_submission(engine: AsyncEngine) -> dict[str, str] | None:
    """The last stored submission as text fields: its columns and its data, side by side."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(Submission)
                .where(Submission.backend != "seed")
                .order_by(Submission.id.desc())
            )
        ).first()
    if row is None:
        return None
    submission = row._mapping
    fields: dict[str, Any] = dict(submission["data"] or {})
    fields.update(
        reference=submission["reference"],
        kind=submission["kind"],
        anonymous=submission["anonymous"],
        phone=submission["phone"],
        language=submission["language"],
        backend=submission["backend"],
    )
    return {k: _as_text(v) for k, v in fields.items()}


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def check_submitted(expected: Mapping[str, str], stored: Mapping[str, str] | None) -> list[str]:
    if stored is None:
        return ["expected a stored submission, there is none"]
    wrong = [
        f"submitted {key}: expected {value!r}, stored {stored.get(key, '(absent)')!r}"
        for key, value in expected.items()
        if _as_text(stored.get(key, "(absent)")).casefold() != value.casefold()
    ]
    return wrong


class _Ports:
    """The real submission store, with parts made to fail when a journey says they are down."""

    def __init__(self, store: SubmissionStore, down: frozenset[str]) -> None:
        self.store = store
        self.down = down

    async def submit(self, draft: SubmissionDraft) -> str:
        if "submit" in self.down:
            raise ConnectionError("submissions are down (journey test)")
        return await self.store.submit(draft)

    async def get(self, reference: str) -> SubmissionView | None:
        if "lookup" in self.down:
            raise ConnectionError("lookups are down (journey test)")
        return await self.store.get(reference)

    async def existing(self, idempotency_key: str) -> str | None:
        if "lookup" in self.down:
            raise ConnectionError("lookups are down (journey test)")
        return await self.store.existing(idempotency_key)


class _StubFetcher:
    """Backends as a journey file describes them: no network, every branch reachable."""

    def __init__(self, stubs: Mapping[str, Mapping[str, Any]], down: frozenset[str]) -> None:
        self.stubs = stubs
        self.down = down

    async def fetch(self, request: FetchRequest) -> FetchResult:
        if request.backend in self.down:
            return FetchResult(Answer.UNAVAILABLE, reason="down (journey test)")
        answers = self.stubs.get(request.backend)
        if answers is None:
            return FetchResult(Answer.UNAVAILABLE, reason="no stubs (journey test)")
        key = "/".join(request.fields.values())
        answer = answers.get(key, answers.get(ANY_REQUEST, "404"))
        if isinstance(answer, Mapping | list):
            return FetchResult(Answer.FOUND, answer)
        if str(answer) in {"404", "410"}:
            return FetchResult(Answer.NOT_FOUND, reason=f"HTTP {answer}")
        return FetchResult(Answer.UNAVAILABLE, reason=f"HTTP {answer}")


class JourneyRunner:
    """Runs journeys against loaded menus, one fresh database and session store per journey."""

    def __init__(self, settings: Settings, definitions: Mapping[str, MenuDefinition]) -> None:
        self.settings = settings
        self.definitions = dict(definitions)
        self._workdir: Path | None = None
        self._template: Path | None = None
        self._counter = itertools.count()

    async def __aenter__(self) -> JourneyRunner:
        self._workdir = Path(tempfile.mkdtemp(prefix="ussd-journeys-"))
        self._template = self._workdir / "template.db"
        engine = create_engine(f"sqlite+aiosqlite:///{self._template}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def check(self, journey: Journey) -> list[Problem]:
        """Problems only the menus can reveal: unknown services, screens and codes."""
        problems: list[Problem] = []

        def problem(message: str, line: int | None) -> None:
            problems.append(Problem(journey.file, journey.name, message, line))

        backends = self.settings.backends
        for name in sorted(journey.down - DOWN_PARTS):
            if name not in backends:
                parts = ", ".join(sorted(DOWN_PARTS | set(backends)))
                problem(f"'down' names no part or backend '{name}' (known: {parts})", journey.line)
        for name in sorted(journey.stubs):
            if name not in backends:
                known = ", ".join(sorted(backends)) or "none"
                problem(f"'stubs' names no backend '{name}' (known: {known})", journey.line)
        definition = self.definitions.get(journey.service or "")
        if journey.service and definition is None:
            known = ", ".join(sorted(self.definitions)) or "none"
            problem(f"unknown service '{journey.service}' (known: {known})", journey.line)
        if definition is not None:
            for step in journey.steps:
                if step.screen is not None and step.screen not in definition.screens:
                    problem(f"no screen '{step.screen}' in {journey.service}", step.line)
            if journey.language and journey.language not in definition.languages:
                problem(
                    f"'{journey.language}' is not a language of {journey.service}", journey.line
                )
        return problems

    def _menus(self, journey: Journey) -> tuple[MenuRegistry, str]:
        codes = dict(self.settings.service_codes)
        code = journey.code
        if code is None:
            code = next((c for c, s in codes.items() if s == journey.service), None)
            if code is None:  # the service has no code yet: give it one for the test
                code = f"*0*{journey.service}#"
                codes[code] = str(journey.service)
        router = ServiceRouter(codes, self.definitions)
        return MenuRegistry(self.definitions, router, keep=0.0), code

    @contextlib.asynccontextmanager
    async def _database(
        self, journey: Journey
    ) -> AsyncIterator[tuple[SubmissionStore, AsyncEngine]]:
        assert self._workdir is not None and self._template is not None, "use 'async with'"
        path = self._workdir / f"journey-{next(self._counter)}.db"
        shutil.copyfile(self._template, path)
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            store = SubmissionStore(sessionmaker=create_sessionmaker(engine))
            service = journey.service or "-"
            async with engine.begin() as connection:
                for seed in journey.submissions:
                    created = dt.datetime.combine(
                        seed.date or dt.date.today(), dt.time(9, 0), tzinfo=dt.UTC
                    )
                    await connection.execute(
                        insert(Submission).values(
                            reference=seed.reference,
                            idempotency_key=f"seed:{seed.reference}",
                            service=service,
                            backend="seed",
                            channel="ussd",
                            language="sw",
                            kind=seed.kind,
                            phone=None,
                            anonymous=True,
                            data={},
                            status=seed.status,
                            status_note=seed.note,
                            created_at=created,
                            updated_at=created,
                        )
                    )
            yield store, engine
        finally:
            await engine.dispose()

    async def run(self, journey: Journey) -> JourneyResult:
        result = JourneyResult(journey, problems=self.check(journey))
        if result.problems:
            return result
        menus, code = self._menus(journey)
        sessions = MemorySessionStore(
            ttl=self.settings.sessions.ttl, resume_window=self.settings.sessions.resume_window
        )
        async with self._database(journey) as (submissions, database):
            # the menus alone: no guard (a journey is not abuse, and may be long)
            hops = build_hops(
                self.settings,
                menus=menus,
                store=sessions,
                ports=_Ports(submissions, journey.down),
                fetcher=_StubFetcher(journey.stubs, journey.down),
            )
            if journey.language:
                await sessions.remember_language(journey.phone, journey.language)
            call = 0
            dialled = code
            entries: list[str] = []
            for number, step in enumerate(journey.steps, start=1):
                if step.dial is not None:
                    call += 1
                    dialled = step.dial or code
                    entries = []
                else:
                    entries.append(str(step.send))
                session_id = f"{journey.name}#{call}"
                reply = await hops.handle(
                    UssdRequest(
                        provider=PROVIDER,
                        session_id=session_id,
                        service_code=dialled,
                        phone=journey.phone,
                        network="64002",
                        text="*".join(entries),
                    )
                )
                session = await sessions.get(f"{PROVIDER}:{session_id}")
                screen = session.screen if session is not None else ""
                result.screens.append(("END " if reply.end else "CON ") + reply.text)
                wrong = check_step(step, reply.text, reply.end, screen)
                if step.submitted is not None:
                    wrong += check_submitted(step.submitted, await newest_submission(database))
                if wrong:
                    result.failure = Failure(step, number, wrong, reply.text)
                    break
        await sessions.close()
        return result


async def run_files(
    files: Sequence[Path], settings: Settings, definitions: Mapping[str, MenuDefinition]
) -> list[JourneyResult | Problem]:
    """Every journey of every file, in order; a file's problems stand in for its journeys."""
    outcomes: list[JourneyResult | Problem] = []
    async with JourneyRunner(settings, definitions) as runner:
        for file in files:
            journeys, problems = load_journeys(file)
            if problems:
                outcomes += problems
                continue
            for journey in journeys:
                outcomes.append(await runner.run(journey))
    return outcomes
