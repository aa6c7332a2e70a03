"""Build menus from inline YAML and drive them with the real engine, as a phone would."""

from __future__ import annotations

import asyncio
import datetime as dt
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ussd_gateway.config.settings import NavigationKeys
from ussd_gateway.domain.references import new_reference
from ussd_gateway.domain.session import Session
from ussd_gateway.domain.submissions import SubmissionDraft, SubmissionView
from ussd_gateway.engine.definition import Catalogue, MenuDefinition, Problem
from ussd_gateway.engine.loader import load_catalogue, load_menu, parse_menu
from ussd_gateway.engine.runner import Engine, HopResult
from ussd_gateway.engine.yaml_source import load_yaml

ROOT = Path(__file__).resolve().parents[2]
MREJESHO = ROOT / "menus" / "mrejesho.yaml"
INSTITUTIONS = ROOT / "config" / "institutions.yaml"
MENU_FILE = "menu.yaml"
PHONE = "+255712345678"

FOOTER_SW = "0.Rudi 00.Mwanzo"
FOOTER_EN = "0.Back 00.Home"


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def parse(
    text: str,
    *,
    catalogues: Mapping[str, Catalogue] | None = None,
    navigation: NavigationKeys | None = None,
) -> tuple[MenuDefinition | None, list[Problem]]:
    """Definition and every problem (errors and warnings) of an inline menu."""
    return parse_menu(
        load_yaml(dedent(text)),
        file=MENU_FILE,
        version="test",
        catalogues=catalogues or {},
        navigation=navigation or NavigationKeys(),
    )


def build(
    tmp_path: Path,
    text: str,
    *,
    catalogues: Mapping[str, Catalogue] | None = None,
    navigation: NavigationKeys | None = None,
) -> MenuDefinition:
    """Write an inline menu to a file and load it as the gateway does (errors raise)."""
    path = tmp_path / MENU_FILE
    path.write_text(dedent(text), encoding="utf-8")
    return load_menu(path, catalogues=catalogues, navigation=navigation)


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of an inline menu containing ``needle``."""
    for number, line in enumerate(dedent(text).splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in menu")


@cache
def institutions() -> Catalogue:
    return load_catalogue(INSTITUTIONS)


def mrejesho() -> MenuDefinition:
    return load_menu(MREJESHO, catalogues={"institutions": institutions()})


def new_session(
    definition: MenuDefinition,
    *,
    language: str | None = None,
    key: str = "test:session-1",
    phone: str = PHONE,
) -> Session:
    return Session(
        key=key,
        service=definition.service,
        phone=phone,
        language=language or definition.default_language,
    )


@dataclass
class Journey:
    """Every hop of a run: the replies the phone showed and the screens the session was on."""

    results: list[HopResult] = field(default_factory=list)

    @property
    def last(self) -> HopResult:
        return self.results[-1]

    @property
    def session(self) -> Session:
        return self.last.session

    @property
    def text(self) -> str:
        return self.last.reply.text

    @property
    def texts(self) -> list[str]:
        return [r.reply.text for r in self.results]

    @property
    def screens(self) -> list[str]:
        return [r.session.screen for r in self.results]


async def drive(
    definition: MenuDefinition,
    entries: Iterable[str] = (),
    *,
    engine: Engine | None = None,
    session: Session | None = None,
    language: str | None = None,
) -> Journey:
    """Start a session (unless one is given) and type each entry in turn."""
    engine = engine or Engine()
    journey = Journey()
    if session is None:
        result = await engine.start(definition, new_session(definition, language=language))
        journey.results.append(result)
        session = result.session
    for entry in entries:
        result = await engine.hop(definition, session, entry)
        journey.results.append(result)
        session = result.session
    return journey


# ---- storage ports: the engine's only dependency ------------------------------------------------


class MemoryPorts:
    """A real, in-memory submission store with the store's contract: idempotent on the key."""

    def __init__(self) -> None:
        self.drafts: dict[str, SubmissionDraft] = {}
        self.references: dict[str, str] = {}
        self.views: dict[str, SubmissionView] = {}
        self.keys: list[str] = []
        self.lookups: list[str] = []

    async def submit(self, draft: SubmissionDraft) -> str:
        self.keys.append(draft.idempotency_key)
        if draft.idempotency_key in self.references:
            return self.references[draft.idempotency_key]
        reference = new_reference()
        self.drafts[draft.idempotency_key] = draft
        self.references[draft.idempotency_key] = reference
        now = dt.datetime(2024, 3, 5, 9, 30, tzinfo=dt.UTC)
        self.views[reference] = SubmissionView(
            reference=reference,
            service=draft.service,
            status="pending",
            status_note=None,
            created_at=now,
            updated_at=now,
            kind=draft.kind,
        )
        return reference

    async def get(self, reference: str) -> SubmissionView | None:
        self.lookups.append(reference)
        return self.views.get(reference)

    def add(self, view: SubmissionView) -> None:
        self.views[view.reference] = view

    @property
    def submitted(self) -> list[SubmissionDraft]:
        return list(self.drafts.values())


class BrokenPorts:
    """A store that is down for writes and too slow for reads."""

    def __init__(self, delay: float = 1.0) -> None:
        self.delay = delay
        self.submit_calls = 0
        self.get_calls = 0

    async def submit(self, draft: SubmissionDraft) -> str:
        self.submit_calls += 1
        raise ConnectionError("database is down")

    async def get(self, reference: str) -> SubmissionView | None:
        self.get_calls += 1
        await asyncio.sleep(self.delay)
        return None


class SlowCommitPorts(MemoryPorts):
    """Commits the submission, then answers too late (while ``delay`` is set)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def submit(self, draft: SubmissionDraft) -> str:
        reference = await super().submit(draft)
        await asyncio.sleep(self.delay)
        return reference


class FailingLookupPorts(MemoryPorts):
    """Reads fail at once (rather than slowly)."""

    async def get(self, reference: str) -> SubmissionView | None:
        raise ConnectionError("database is down")


def view(
    reference: str,
    status: str = "pending",
    *,
    note: str | None = None,
    service: str = "svc",
) -> SubmissionView:
    created = dt.datetime(2024, 3, 5, 9, 30, tzinfo=dt.UTC)
    updated = dt.datetime(2024, 3, 7, 14, 0, tzinfo=dt.UTC)
    return SubmissionView(reference, service, status, note, created, updated)
