"""Reads menu files into validated, immutable definitions, reporting every problem found."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from ussd_gateway.config.settings import NavigationKeys
from ussd_gateway.config.sms import DEFAULT_SMS_SEGMENTS
from ussd_gateway.domain.gsm import ussd_length
from ussd_gateway.domain.session import Session
from ussd_gateway.engine.definition import Catalogue, DefinitionError, MenuDefinition, Problem
from ussd_gateway.engine.keywords import parse_keywords
from ussd_gateway.engine.lint import (
    article,
    check_codes,
    check_duplicate_keys,
    check_keywords,
    check_sms_lengths,
    check_variables,
    variable_sets,
)
from ussd_gateway.engine.messages import DEFAULT_MESSAGES, HINT_KEYS
from ussd_gateway.engine.runner import HopContext, compose
from ussd_gateway.engine.screens import SCREEN_TYPES
from ussd_gateway.engine.screens.base import ParseContext, Screen
from ussd_gateway.engine.screens.list import parse_catalogue_item
from ussd_gateway.engine.text import LocalizedText
from ussd_gateway.engine.yaml_source import key_line, line_of, load_yaml

TOP_KEYS = frozenset(
    {
        "nudge",
        "service",
        "languages",
        "start",
        "screens",
        "messages",
        "codes",
        "title",
        "owner",
        "backend",
        "keywords",
    }
)
OWNER_KEYS = ("institution", "contact")
"""What every served service must say about who answers for it (``check_owner``)."""


def load_catalogue(path: Path) -> Catalogue:
    """A catalogue file: ``catalogue: <name>`` and ``items: [{id, label, name}]``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
        raise DefinitionError([Problem(str(path), "-", "a catalogue needs 'items': a list")])
    items = []
    for entry in data["items"]:
        item = parse_catalogue_item(entry, "sw")
        if item is None:
            raise DefinitionError([Problem(str(path), "-", f"item without id/label: {entry}")])
        items.append(item)
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise DefinitionError([Problem(str(path), "-", "duplicate item ids")])
    return Catalogue(str(data.get("catalogue") or path.stem), tuple(items))


def load_menu(
    path: Path | str,
    *,
    catalogues: Mapping[str, Catalogue] | None = None,
    navigation: NavigationKeys | None = None,
) -> MenuDefinition:
    """Parse and validate one menu file; raise DefinitionError listing every error."""
    definition, problems = inspect_menu(path, catalogues=catalogues, navigation=navigation)
    errors = [p for p in problems if p.severity == "error"]
    if errors or definition is None:
        raise DefinitionError(errors or problems)
    return definition


def inspect_menu(
    path: Path | str,
    *,
    catalogues: Mapping[str, Catalogue] | None = None,
    navigation: NavigationKeys | None = None,
) -> tuple[MenuDefinition | None, list[Problem]]:
    """Everything wrong with a menu file (errors and warnings), without running it."""
    path = Path(path)
    name = str(path)
    try:
        source = path.read_text(encoding="utf-8")
        raw = load_yaml(source)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, "-", f"cannot read: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return None, [Problem(name, "-", f"not valid YAML: {getattr(exc, 'problem', exc)}", line)]
    return parse_menu(
        raw,
        file=name,
        version=hashlib.sha256(source.encode()).hexdigest()[:12],
        catalogues=catalogues or {},
        navigation=navigation or NavigationKeys(),
    )


def parse_menu(
    raw: Any,
    *,
    file: str,
    version: str,
    catalogues: Mapping[str, Catalogue],
    navigation: NavigationKeys,
) -> tuple[MenuDefinition | None, list[Problem]]:
    if not isinstance(raw, Mapping):
        return None, [Problem(file, "-", "a menu file must be a mapping (service, screens...)")]
    problems: list[Problem] = []

    def top(message: str, value: Any = None, *, key: str | None = None) -> None:
        line = key_line(raw, key) if key is not None else line_of(value) or line_of(raw)
        problems.append(Problem(file, "-", message, line))

    problems += check_duplicate_keys(raw, file)
    for key in raw:
        if key not in TOP_KEYS:
            top(f"unknown key '{key}'", key=key)
    service = raw.get("service")
    if not isinstance(service, str) or not service.isidentifier():
        top("'service' must be a name (letters, digits, _)", key="service")
        service = Path(file).stem
    languages = raw.get("languages")
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(x, str) for x in languages)
    ):
        top("'languages' must be a non-empty list such as [sw, en]", key="languages")
        languages = ["sw"]
    languages_t = tuple(languages)
    codes = raw.get("codes") or []
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        top("'codes' must be a list of short codes", key="codes")
        codes = []

    backend = raw.get("backend") or ""
    if not isinstance(backend, str):
        top("'backend' must name a backend of config/gateway.yaml", key="backend")
        backend = ""
    owner = raw.get("owner") or {}
    if not isinstance(owner, Mapping):
        top("'owner' must be a mapping: {institution: ..., contact: ...}", key="owner")
        owner = {}
    nudge_after = _nudge_after(raw.get("nudge"), top)
    keywords, found = parse_keywords(raw.get("keywords"), file)
    problems += found

    overrides = raw.get("messages") or {}
    if not isinstance(overrides, Mapping):
        top("'messages' must be a mapping of message name to texts", key="messages")
        overrides = {}
    messages: dict[str, LocalizedText] = {}
    for key, defaults in DEFAULT_MESSAGES.items():
        given = overrides.get(key) or {}
        if not isinstance(given, Mapping):
            top(f"message '{key}' must give a text per language, e.g. {{sw: ..., en: ...}}")
            given = {}
        texts: dict[str, str] = {}
        for lang in languages_t:
            text = str(given.get(lang) or defaults.get(lang) or defaults["en"])
            try:
                text.format(min=0, max=0, choices="1-2", tail="")
            except (KeyError, IndexError, ValueError) as exc:
                top(
                    f"message '{key}' ({lang}) has an unknown placeholder {exc}; "
                    "use {min}, {max}, {choices} or {tail}"
                )
                text = defaults.get(lang) or defaults["en"]
            texts[lang] = text
        messages[key] = LocalizedText.compile(texts, languages_t[0])
    if "invalid_choice" in overrides and "choose_from" not in overrides:
        # a service that reworded the wrong-choice hint keeps its wording everywhere
        messages["choose_from"] = messages["invalid_choice"]
    for key in overrides:
        if key not in DEFAULT_MESSAGES:
            line = key_line(overrides, key) or line_of(raw)
            problems.append(Problem(file, "-", f"unknown message '{key}'", line))
    reserve = {lang: 1 + longest_hint(messages, lang) for lang in languages_t}

    ctx = ParseContext(
        file=file,
        languages=languages_t,
        catalogues=catalogues,
        navigation=navigation,
        messages=messages,
        reserve=reserve,
        problems=problems,
        backend=backend,
    )
    screens: dict[str, Screen] = {}
    raw_screens = raw.get("screens")
    if not isinstance(raw_screens, Mapping) or not raw_screens:
        top("'screens' must be a mapping of screen id to screen", key="screens")
        raw_screens = {}
    for screen_id, raw_screen in raw_screens.items():
        ctx.screen = str(screen_id)
        ctx.line = line_of(raw_screen)
        if not isinstance(raw_screen, Mapping):
            ctx.problem("a screen must be a mapping with a 'type'")
            continue
        kind = raw_screen.get("type")
        cls = SCREEN_TYPES.get(str(kind))
        if cls is None:
            known = ", ".join(sorted(SCREEN_TYPES))
            ctx.problem(f"unknown screen type '{kind}' (known: {known})", raw_screen, key="type")
            continue
        for key in raw_screen:
            if key != "type" and key not in cls.keys:
                ctx.problem(f"unknown key '{key}' for {article(kind)} screen", raw_screen, key=key)
        screens[str(screen_id)] = cls.parse(str(screen_id), raw_screen, ctx)

    start = raw.get("start")
    if not isinstance(start, str) or start not in screens:
        top(f"'start' must name a screen (got {start!r})", key="start")
        start = next(iter(screens), "")
    definition = MenuDefinition(
        service=service,
        languages=languages_t,
        start=start,
        screens=MappingProxyType(screens),
        messages=MappingProxyType(messages),
        navigation=navigation,
        source=file,
        version=version,
        codes=tuple(codes),
        title=dict(raw.get("title") or {}),
        owner=dict(owner),
        backend=backend,
        keywords=keywords,
        key_lines=MappingProxyType(dict(getattr(raw, "key_lines", {}))),
        text_lines=MappingProxyType(_text_lines(raw_screens, languages_t)),
        nudge_after=nudge_after,
    )
    problems += check_graph(definition, file)
    problems += check_variables(definition, raw_screens, file)
    problems += check_lengths(definition, file)  # also beside other errors: show them all at once
    return definition, problems


def _nudge_after(value: Any, top: Callable[..., None]) -> float:
    """``nudge: {after: 60}``: seconds after a dropped call before its SMS nudge; 0: off."""
    if value is None:
        return 0.0
    after = value.get("after") if isinstance(value, Mapping) else None
    if (
        not isinstance(value, Mapping)
        or set(value) != {"after"}
        or isinstance(after, bool)
        or not isinstance(after, int | float)
        or after <= 0
    ):
        top("'nudge' must be {after: <seconds>}, more than 0", key="nudge")
        return 0.0
    return float(after)


def _text_lines(
    raw_screens: Mapping[str, Any], languages: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    lines: dict[str, dict[str, int]] = {}
    for screen_id, raw_screen in raw_screens.items():
        if not isinstance(raw_screen, Mapping) or "text" not in raw_screen:
            continue
        text = raw_screen["text"]
        at = key_line(raw_screen, "text")
        found = {lang: key_line(text, lang) or at for lang in languages}
        lines[str(screen_id)] = {k: v for k, v in found.items() if v is not None}
    return lines


def check_graph(definition: MenuDefinition, file: str) -> list[Problem]:
    """Links to missing screens, screens that lead nowhere, screens nothing leads to."""
    problems: list[Problem] = []
    screens = definition.screens
    for screen in screens.values():
        targets = screen.targets()
        for edge in targets:
            if edge.target not in screens:
                problems.append(
                    Problem(
                        file,
                        screen.id,
                        f"leads to unknown screen '{edge.target}'",
                        edge.line or screen.line,
                    )
                )
        once = getattr(screen, "once", "")  # a lookup of the caller's own once_per submission
        if once and not getattr(screens.get(once), "once_per", ""):
            problems.append(
                Problem(
                    file,
                    screen.id,
                    f"'once' names '{once}', which is not a submit screen with once_per",
                    screen.line,
                )
            )
        if not targets and not screen.ends:
            problems.append(
                Problem(file, screen.id, "no way forward and not an end screen", screen.line)
            )
    reached = _reachable(definition)
    for screen in screens.values():
        if screen.id not in reached:
            problems.append(
                Problem(file, screen.id, "no path reaches this screen", screen.line, "warning")
            )
    return problems


def _reachable(definition: MenuDefinition) -> set[str]:
    seen: set[str] = set()
    todo = [definition.start] if definition.start else []
    while todo:
        current = todo.pop()
        if current in seen or current not in definition.screens:
            continue
        seen.add(current)
        todo.extend(e.target for e in definition.screens[current].targets())
    return seen


def worst_case_variables(definition: MenuDefinition) -> dict[str, Any]:
    """The longest value every variable can take, to size screens before any citizen does."""
    longest: dict[str, Any] = {}
    for screen in definition.screens.values():
        for name, value in screen.sets().items():
            if len(str(value)) >= len(str(longest.get(name, ""))):
                longest[name] = value
    return longest


def check_lengths(definition: MenuDefinition, file: str, *, directory: str = "") -> list[Problem]:
    """Every page of every screen, in every language, with the longest values and a hint.

    Screens are rendered once per set of sample values (see ``lint.variable_sets``), so a text
    shown only when a variable is false or short is measured too; the worst case is reported.

    ``directory``: only the start screen, as a session that came through that directory sees
    it (its footer then offers the back key, ``0.Rudi``); reported only when it fits without.
    """
    problems: list[Problem] = []
    samples = variable_sets(definition)
    longest = samples[0]
    screens: Iterable[Screen] = definition.screens.values()
    if directory:
        screens = [s for s in screens if s.id == definition.start]
    for screen in screens:
        if not screen.interactive:
            continue
        for language in definition.languages:
            try:
                worst = _worst_render(definition, screen, language, samples, directory)
                if worst is not None and directory:
                    if _worst_render(definition, screen, language, samples) is not None:
                        continue  # too long anyway: the ordinary check reports it
            except Exception:  # a screen broken in another way, reported as such
                continue
            if worst is None:
                continue
            used, limit, encoding, page, how, variables = worst
            where = f" page {page + 1}" if page else ""
            changed = [f"{k}={v!r}" for k, v in variables.items() if longest.get(k) != v]
            when = f" when {', '.join(changed)}" if changed else ""
            through = ""
            if directory:
                back = definition.navigation.footer(
                    lambda key, lang=language: definition.message(key, lang),
                    more=False,
                    back=True,
                    home=False,
                )
                through = f" (entered through directory '{directory}': its footer '{back}')"
            problems.append(
                Problem(
                    file,
                    screen.id,
                    f"{language}{where}: screen{how} can reach {used} characters "
                    f"({encoding}), over the {limit} a phone shows{when}{through}",
                    definition.text_lines.get(screen.id, {}).get(language) or screen.line,
                )
            )
    return problems


def _worst_render(
    definition: MenuDefinition,
    screen: Screen,
    language: str,
    samples: list[dict[str, Any]],
    directory: str = "",
) -> tuple[int, int, str, int, str, dict[str, Any]] | None:
    """The worst over-limit rendering of a screen in one language, if any.

    A screen too long on its own is reported as such (the fix is in its text); only when it fits
    alone is the longest rendering with a hint above it reported. ``directory``: rendered in a
    session that came through that directory.
    """
    worst: tuple[int, int, str, int, str, dict[str, Any]] | None = None
    worst_rank = (len(_HOWS), 0)
    hint = None if screen.ends else "x" * longest_hint(definition.messages, language)
    own_hint = getattr(screen, "hint", None)
    for variables in samples:
        session = Session(key="inspect", service=definition.service, phone="", language=language)
        session.screen = screen.id
        session.vars = dict(variables)
        session.directory = directory
        hop = HopContext(definition, session)
        for page in range(screen.pages(hop)):
            session.page = page
            plain = screen.render(hop)
            shown = [("", plain)]
            if hint is not None:
                shown.append((" with a hint", compose(hint, plain)))
            if isinstance(own_hint, LocalizedText):
                own = own_hint.render(language, variables)
                shown.append((" with its hint", compose(own, plain)))
            for how, text in shown:
                used, limit, encoding = ussd_length(text)
                rank = (_HOWS.index(how), -used)
                if used > limit and rank < worst_rank:
                    worst, worst_rank = (used, limit, encoding, page, how, variables), rank
    return worst


_HOWS = ("", " with a hint", " with its hint")


def longest_hint(messages: Mapping[str, LocalizedText], language: str) -> int:
    """Room the longest built-in hint can take above a screen: an upper bound.

    Counted on the text as written, placeholders such as ``{min}`` unfilled, plus 4 spare: more
    than any filled-in number needs. Lists are paged leaving this room and the validator
    measures screens with it, so a page the loader packs is a page the validator accepts.
    """
    return 4 + max(ussd_length(messages[key].render(language, {}))[0] for key in HINT_KEYS)


def inspect_menus(
    paths: Iterable[Path],
    *,
    catalogues: Mapping[str, Catalogue] | None = None,
    navigation: NavigationKeys | None = None,
    sms_max_segments: int = DEFAULT_SMS_SEGMENTS,
) -> tuple[dict[str, MenuDefinition], list[Problem]]:
    """Every problem of several menu files, and the definitions of those without errors.

    ``sms_max_segments``: the configured ``sms.max_segments``, to size ``sms:`` texts with."""
    definitions: dict[str, MenuDefinition] = {}
    parsed: dict[str, MenuDefinition] = {}
    """Every file read, errors or not: a clash of short codes is worth knowing either way."""
    problems: list[Problem] = []
    for path in paths:
        definition, found = inspect_menu(path, catalogues=catalogues, navigation=navigation)
        problems += found
        if definition is not None:
            parsed[str(path)] = definition
            problems += check_sms_lengths(definition, sms_max_segments)
        if definition is None or any(p.severity == "error" for p in found):
            continue
        if definition.service in definitions:
            problems.append(
                Problem(str(path), "-", f"service '{definition.service}' defined twice")
            )
        definitions[definition.service] = definition
    problems += check_codes(parsed, {})
    problems += check_keywords(parsed)
    for definition in parsed.values():
        problems += check_owner(definition)
    return definitions, problems


def check_owner(definition: MenuDefinition) -> list[Problem]:
    """A served service names who answers for it and where its submissions go."""
    missing = [key for key in OWNER_KEYS if not str(definition.owner.get(key) or "").strip()]
    problems = []
    line = definition.key_lines.get("owner") or definition.key_lines.get("service")
    if missing:
        problems.append(
            Problem(
                definition.source,
                "-",
                f"'owner' must give {' and '.join(missing)} (who answers for this service)",
                line,
            )
        )
    if not definition.backend:
        problems.append(
            Problem(
                definition.source,
                "-",
                "'backend' must name where this service's submissions go (config backends:)",
                definition.key_lines.get("backend") or line,
            )
        )
    return problems


def load_menus(
    paths: Iterable[Path],
    *,
    catalogues: Mapping[str, Catalogue] | None = None,
    navigation: NavigationKeys | None = None,
) -> dict[str, MenuDefinition]:
    """Load several menu files; any broken file fails the whole load with all problems."""
    definitions, problems = inspect_menus(paths, catalogues=catalogues, navigation=navigation)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DefinitionError(errors)
    return definitions
