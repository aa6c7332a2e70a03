"""A directory of services behind one short code (``*152*00#``): a paginated, multilingual list.

A directory file (``menus/directory.yaml``) starts with ``directory: <name>``; a short code in
``config/gateway.yaml`` names it as it would name a service. Each entry points at a service's
menu file, with an order and an on/off switch. The directory is served as a one-screen
definition of its own, so sessions, versions, reloads and resume treat it like any service;
choosing an entry ``Enter``s that service, and the ``navigation.directory`` key (``000``) comes
back. A service whose file is broken stays listed, marked unavailable in the citizen's language;
a directory file that is broken itself gives way to a plain list (``fallback_directory``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from ussd_gateway.config.settings import NavigationKeys
from ussd_gateway.domain.gsm import fits_ussd, ussd_length
from ussd_gateway.engine.definition import MenuDefinition, Problem
from ussd_gateway.engine.loader import check_lengths
from ussd_gateway.engine.messages import DEFAULT_MESSAGES, HINT_KEYS, choices
from ussd_gateway.engine.screens.base import Edge, Enter, Go, Outcome, Retry, Screen, Turn
from ussd_gateway.engine.screens.list import paginate
from ussd_gateway.engine.screens.menu import MenuScreen, Option
from ussd_gateway.engine.text import LocalizedText
from ussd_gateway.engine.yaml_source import key_line, line_of, load_yaml

if TYPE_CHECKING:
    from ussd_gateway.engine.runner import HopContext

START = "home"
"""The directory's list (its only other screen: ``LANGUAGE_SCREEN``)."""

TOP_KEYS = frozenset(
    {"directory", "languages", "title", "owner", "services", "unavailable", "language_choice"}
)
LANGUAGE_SCREEN = "language"
"""The directory's second screen, when it offers ``language_choice``: the languages by name."""

LANGUAGE_NAMES: Mapping[str, str] = {"sw": "Kiswahili", "en": "English", "fr": "Français"}
"""Each language's name in itself, as the language screen lists it."""

CHOOSE_LANGUAGE: Mapping[str, str] = {"sw": "Chagua lugha", "en": "Choose language"}
ENTRY_KEYS = frozenset({"file", "order", "enabled", "label"})

UNAVAILABLE: Mapping[str, str] = {
    "sw": "haipatikani kwa muda",
    "en": "temporarily unavailable",
}
"""Marks an entry whose service file is broken (``unavailable:`` in the file overrides it)."""

_HEADER = re.compile(r"^directory\s*:", re.MULTILINE)
_NAME = re.compile(r"^directory\s*:\s*[\"']?([A-Za-z_]\w*)[\"']?\s*(?:#.*)?$", re.MULTILINE)


def is_directory_file(path: Path) -> bool:
    """A directory file has a top-level ``directory:`` key (a menu file has ``service:``)."""
    try:
        return bool(_HEADER.search(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        return False


def written_name(path: Path) -> str | None:
    """The name on a directory file's ``directory:`` line, read as text: a file whose YAML is
    broken elsewhere still says which code it serves."""
    try:
        found = _NAME.search(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class Entry:
    """One service as listed: its number is its position among the enabled entries."""

    service: str
    label: LocalizedText
    available: bool


def entry_line(entry: Entry, index: int, language: str, unavailable: LocalizedText) -> str:
    """``2. Usajili mkutano (haipatikani kwa muda)``: numbered from 1 across pages."""
    label = entry.label.render(language, {})
    if not entry.available:
        label += f" ({unavailable.render(language, {})})"
    return f"{index + 1}. {label}"


@dataclass(frozen=True)
class DirectoryScreen(Screen):
    """The list of services: numbered 1..N across pages, so ``*152*00*2#`` is always entry 2."""

    type_name: ClassVar[str] = "directory"

    title: LocalizedText
    entries: tuple[Entry, ...]
    unavailable: LocalizedText
    pages_by_language: Mapping[str, tuple[tuple[int, ...], ...]]
    default_language: str
    fallback: bool = False
    """A plain list of the services that loaded, served while the directory's file is broken."""
    language_choice: LocalizedText | None = None
    """The last line (``Lugha / Language``), leading to the language screen: a citizen who
    reads the other language can switch before choosing a service, and the number keeps it."""

    def _pages(self, language: str) -> tuple[tuple[int, ...], ...]:
        return self.pages_by_language.get(language) or self.pages_by_language[self.default_language]

    def pages(self, hop: HopContext) -> int:
        return len(self._pages(hop.language))

    def page_listing(self, service: str, language: str) -> int:
        """The page (0-based) that lists ``service``: where a citizen chose it."""
        for page, indexes in enumerate(self._pages(language)):
            if any(i < len(self.entries) and self.entries[i].service == service for i in indexes):
                return page
        return 0

    def line_of(self, index: int, language: str) -> str:
        if index == len(self.entries) and self.language_choice is not None:
            return f"{index + 1}. {self.language_choice.render(language, {})}"
        return entry_line(self.entries[index], index, language, self.unavailable)

    def texts(self) -> tuple[LocalizedText, ...]:
        return (self.title,) + ((self.language_choice,) if self.language_choice else ())

    def targets(self) -> tuple[Edge, ...]:
        if self.language_choice is None:
            return ()
        label = self.language_choice.sources().get(self.language_choice.default, "")
        return (Edge(LANGUAGE_SCREEN, f"{len(self.entries) + 1}. {label}"),)

    def render(self, hop: HopContext) -> str:
        pages = self._pages(hop.language)
        page = min(hop.session.page, len(pages) - 1) if pages else 0
        lines = [self.title.render(hop.language, {})]
        if pages:
            lines += [self.line_of(i, hop.language) for i in pages[page]]
        lines.append(hop.footer(more=page < len(pages) - 1))
        return "\n".join(line for line in lines if line)

    def handle(self, hop: HopContext, entry: str) -> Outcome:
        pages = self._pages(hop.language)
        if entry == hop.definition.navigation.more:
            return Turn(1) if hop.session.page < len(pages) - 1 else Retry("no_more")
        if self.language_choice is not None and entry == str(len(self.entries) + 1):
            return Go(LANGUAGE_SCREEN)
        if entry.isascii() and entry.isdigit() and 1 <= int(entry) <= len(self.entries):
            chosen = self.entries[int(entry) - 1]
            if chosen.available:
                return Enter(chosen.service)
            line = self.line_of(int(entry) - 1, hop.language).split(". ", 1)[1]
            return Retry("_custom", {"text": line})
        return Retry("choose_from", choices(len(self.entries) + (self.language_choice is not None)))


def _messages(languages: tuple[str, ...]) -> dict[str, LocalizedText]:
    return {
        key: LocalizedText.compile(
            {lang: texts.get(lang) or texts["en"] for lang in languages}, languages[0]
        )
        for key, texts in DEFAULT_MESSAGES.items()
    }


def _text(value: Any, languages: tuple[str, ...]) -> LocalizedText | None:
    if isinstance(value, str):
        return LocalizedText.plain(value, languages[0])
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        if all(lang in value for lang in languages):
            return LocalizedText.compile({str(k): v for k, v in value.items()}, languages[0])
    return None


def inspect_directory(
    path: Path,
    services: Mapping[str, MenuDefinition],
    broken: Mapping[str, str],
    navigation: NavigationKeys,
) -> tuple[MenuDefinition | None, list[Problem]]:
    """The directory as a servable definition, and every problem of its file.

    ``services``: loaded definitions by resolved file path; ``broken``: service name (as far as
    it could be read) by resolved file path of each menu file that cannot be served.
    """
    file = str(path)
    try:
        source = path.read_text(encoding="utf-8")
        raw = load_yaml(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return None, [Problem(file, "-", f"not valid YAML: {getattr(exc, 'problem', exc)}", line)]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, "-", f"cannot read the directory: {exc}".splitlines()[0])]
    problems: list[Problem] = []

    def problem(message: str, where: Any = None, key: str | None = None) -> None:
        line = (key_line(where, key) if key else None) or line_of(where) or line_of(raw)
        problems.append(Problem(file, "directory", message, line))

    if not isinstance(raw, Mapping):
        return None, [Problem(file, "-", "a directory file must be a mapping")]
    for key in raw:
        if key not in TOP_KEYS:
            problem(f"unknown key '{key}'", raw, key)
    name = raw.get("directory")
    if not isinstance(name, str) or not name.isidentifier():
        problem("'directory' must be a name (letters, digits, _)", raw, "directory")
        name = path.stem
    languages = raw.get("languages") or ["sw", "en"]
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        problem("'languages' must be a list such as [sw, en]", raw, "languages")
        languages = ["sw", "en"]
    langs = tuple(languages)
    title = _text(raw.get("title"), langs)
    if title is None:
        problem(f"'title' must give a text in {', '.join(langs)}", raw, "title")
        title = LocalizedText.plain("", langs[0])
    defaults = {lang: UNAVAILABLE.get(lang, UNAVAILABLE["en"]) for lang in langs}
    unavailable = _text(raw.get("unavailable") or defaults, langs)
    if unavailable is None:
        problem(f"'unavailable' must give a text in {', '.join(langs)}", raw, "unavailable")
        unavailable = LocalizedText.plain(UNAVAILABLE["en"], langs[0])

    language_choice = None
    if raw.get("language_choice") is not None:
        language_choice = _text(raw.get("language_choice"), langs)
        if language_choice is None:
            problem(
                f"'language_choice' must give a text in {', '.join(langs)}",
                raw,
                "language_choice",
            )
        elif len(langs) < 2:
            problem("'language_choice' needs two or more languages", raw, "language_choice")
            language_choice = None
    raw_entries = raw.get("services")
    if not isinstance(raw_entries, list) or not raw_entries:
        problem("'services' must list the services: [{file, order, enabled, label}]", raw)
        raw_entries = []
    ordered: list[tuple[float, int, Entry]] = []
    seen: set[str] = set()
    for n, item in enumerate(raw_entries):
        if not isinstance(item, Mapping) or not isinstance(item.get("file"), str):
            problem("each service needs 'file': its menu file, e.g. mrejesho.yaml", item)
            continue
        for key in item:
            if key not in ENTRY_KEYS:
                problem(f"unknown key '{key}' in a service entry", item, key)
        target = (path.parent / item["file"]).resolve()
        if str(target) in seen:
            problem(f"{item['file']} is listed twice", item, "file")
        seen.add(str(target))
        enabled = item.get("enabled", True)
        order = item.get("order", n + 1)
        if not isinstance(enabled, bool) or not isinstance(order, int | float):
            problem("'enabled' must be true or false and 'order' a number", item)
            continue
        definition = services.get(str(target))
        service = definition.service if definition else broken.get(str(target))
        if service is None:
            problem(f"{item['file']} is not a menu file in {path.parent}", item, "file")
            continue
        label = _text(item["label"], langs) if "label" in item else None
        if "label" in item and label is None:
            problem(f"'label' must give a text in {', '.join(langs)}", item, "label")
        if label is not None and definition is not None and definition.title:
            differs = [
                lang
                for lang in langs
                if definition.title.get(lang)
                and label.sources().get(lang) != definition.title[lang]
            ]
            if differs:  # the citizen would look for one name and be greeted by another
                problems.append(
                    Problem(
                        file,
                        "directory",
                        f"{', '.join(differs)}: label of {item['file']} differs from the service's "
                        f"title '{definition.title[differs[0]]}' (make them agree)",
                        key_line(item, "label") or line_of(item),
                        "warning",
                    )
                )
        if label is None:
            given = dict(definition.title) if definition and definition.title else {}
            label = LocalizedText.compile(
                {lang: str(given.get(lang) or service) for lang in langs}, langs[0]
            )
        if enabled:
            ordered.append((float(order), n, Entry(service, label, definition is not None)))
    entries = tuple(entry for _, _, entry in sorted(ordered, key=lambda t: (t[0], t[1])))
    numbers = [int(k) for k in navigation.reserved if k.isdigit() and not k.startswith("0")]
    if len(entries) + (language_choice is not None) >= min(numbers, default=1000):
        problem("more entries than numbers before the navigation keys")
    definition, too_long = _served(
        name,
        path,
        source,
        langs,
        title,
        unavailable,
        entries,
        navigation,
        line=line_of(raw),
        title_given=dict(raw.get("title") or {}) if isinstance(raw.get("title"), Mapping) else {},
        owner=dict(raw.get("owner") or {}) if isinstance(raw.get("owner"), Mapping) else {},
        key_lines=dict(getattr(raw, "key_lines", {})),
        language_choice=language_choice,
    )
    for message in too_long:
        problem(message)
    return definition, problems


def _served(
    name: str,
    path: Path,
    source: str,
    langs: tuple[str, ...],
    title: LocalizedText,
    unavailable: LocalizedText,
    entries: tuple[Entry, ...],
    navigation: NavigationKeys,
    *,
    line: int | None = None,
    title_given: Mapping[str, str] | None = None,
    owner: Mapping[str, Any] | None = None,
    key_lines: Mapping[str, int] | None = None,
    fallback: bool = False,
    language_choice: LocalizedText | None = None,
) -> tuple[MenuDefinition, list[str]]:
    """The directory's one-screen definition, paged per language, and each entry too long."""
    too_long: list[str] = []
    messages = _messages(langs)
    reserve = 1 + max(
        ussd_length(messages[key].render(lang, {}))[0] for key in HINT_KEYS for lang in langs
    )
    pages: dict[str, tuple[tuple[int, ...], ...]] = {}
    for lang in langs:
        word = lambda key, lang=lang: messages[key].render(lang, {})  # noqa: E731
        lines = [entry_line(e, i, lang, unavailable) for i, e in enumerate(entries)]
        if language_choice is not None:
            lines.append(f"{len(entries) + 1}. {language_choice.render(lang, {})}")
        pages[lang] = paginate(
            title.render(lang, {}),
            lines,
            navigation.footer(word, more=True, back=True, home=False),
            navigation.footer(word, more=False, back=True, home=False),
            reserve + 1,  # the hint's own line break
            numbered=False,  # numbered across pages already
        )
        for text in lines:
            if not fits_ussd(text):
                too_long.append(f"{lang}: entry '{text}' is too long for one screen")
    screen = DirectoryScreen(
        START,
        line,
        title,
        entries,
        unavailable,
        pages,
        langs[0],
        fallback=fallback,
        language_choice=language_choice,
    )
    screens: dict[str, Screen] = {START: screen}
    if language_choice is not None:
        screens[LANGUAGE_SCREEN] = _language_screen(langs)
    fingerprint = ";".join(f"{e.service}:{e.available}" for e in entries)
    served = f"{source}\0{fingerprint}" + ("\0fallback" if fallback else "")
    version = hashlib.sha256(served.encode()).hexdigest()[:12]
    definition = MenuDefinition(
        service=name,
        languages=langs,
        start=START,
        screens=MappingProxyType(screens),
        messages=MappingProxyType(messages),
        navigation=navigation,
        source=str(path),
        version=version,
        title=dict(title_given or {}),
        owner=dict(owner or {}),
        key_lines=MappingProxyType(dict(key_lines or {})),
    )
    return definition, too_long


def _language_screen(langs: tuple[str, ...]) -> MenuScreen:
    """``Chagua lugha``: one option per language, named in itself; back to the list."""
    text = LocalizedText.compile(
        {lang: CHOOSE_LANGUAGE.get(lang, CHOOSE_LANGUAGE["en"]) for lang in langs}, langs[0]
    )
    options = tuple(
        Option(LocalizedText.plain(LANGUAGE_NAMES.get(lang, lang), langs[0]), START, {}, lang, None)
        for lang in langs
    )
    return MenuScreen(LANGUAGE_SCREEN, None, text, options)


FALLBACK_TITLE: Mapping[str, str] = {"sw": "Huduma", "en": "Services"}
"""The plain list's title when the broken directory file's own cannot be read."""


def fallback_directory(
    path: Path,
    name: str,
    services: Mapping[str, MenuDefinition],
    navigation: NavigationKeys,
    languages: tuple[str, ...] = ("sw", "en"),
) -> MenuDefinition | None:
    """A plain list of the services that loaded, served on a directory's code while its file is
    broken (at start, with no good version to keep), so a typo there does not take every service
    behind the code down; None when no service loaded.

    ``services``: loaded definitions by resolved file path. What of the broken file can still
    be read is used (its title, which files it lists, switched on, in its order, so numbers
    such as ``*152*00*2#`` keep their meaning); a file that cannot be read lists every service.
    """
    raw: Any = None
    source = ""
    with contextlib.suppress(OSError, UnicodeDecodeError, yaml.YAMLError):
        source = path.read_text(encoding="utf-8")
        raw = load_yaml(source)
    raw = raw if isinstance(raw, Mapping) else {}
    given = raw.get("languages")
    if isinstance(given, list) and given and all(isinstance(x, str) for x in given):
        languages = tuple(given)
    chosen = _still_listed(path, raw, services)
    if chosen is None:
        chosen = [services[key] for key in sorted(services)]
    if not chosen:
        return None
    title = _text(raw.get("title"), languages) or _text(dict(FALLBACK_TITLE), languages)
    if title is None:
        title = LocalizedText.plain(FALLBACK_TITLE["en"], languages[0])
    entries = tuple(
        Entry(
            d.service,
            LocalizedText.compile(
                {lang: str(d.title.get(lang) or d.service) for lang in languages}, languages[0]
            ),
            True,
        )
        for d in chosen
    )
    unavailable = LocalizedText.plain(UNAVAILABLE["en"], languages[0])
    definition, _ = _served(
        name, path, source, languages, title, unavailable, entries, navigation, fallback=True
    )
    return definition


def _still_listed(
    path: Path, raw: Mapping[str, Any], services: Mapping[str, MenuDefinition]
) -> list[MenuDefinition] | None:
    """The loaded services a broken directory file still lists, switched on, in its order;
    None when it lists nothing that can be read."""
    items = raw.get("services")
    if not isinstance(items, list):
        return None
    ordered: list[tuple[float, int, MenuDefinition]] = []
    readable = False
    for n, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("file"), str):
            continue
        readable = True
        definition = services.get(str((path.parent / item["file"]).resolve()))
        if definition is None or item.get("enabled", True) is False:
            continue
        order = item.get("order", n + 1)
        order = order if isinstance(order, int | float) and not isinstance(order, bool) else n + 1
        ordered.append((float(order), n, definition))
    if not readable:
        return None
    seen: set[str] = set()
    chosen = []
    for _, _, definition in sorted(ordered, key=lambda t: (t[0], t[1])):
        if definition.service not in seen:
            seen.add(definition.service)
            chosen.append(definition)
    return chosen


def is_fallback(definition: MenuDefinition) -> bool:
    """A plain list served in place of a broken directory file (``fallback_directory``)."""
    screen = definition.screens.get(START)
    return isinstance(screen, DirectoryScreen) and screen.fallback


def listed_files(paths: list[Path]) -> dict[str, str]:
    """Resolved path of each menu file an enabled entry of these directory files lists, with the
    directory's name (a file too broken to read lists nothing; its own check reports it)."""
    listed: dict[str, str] = {}
    for path in paths:
        try:
            raw = load_yaml(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(raw, Mapping) or not isinstance(raw.get("services"), list):
            continue
        name = raw.get("directory")
        name = name if isinstance(name, str) and name else path.stem
        for item in raw["services"]:
            if isinstance(item, Mapping) and isinstance(item.get("file"), str):
                if item.get("enabled", True) is True:
                    listed.setdefault(str((path.parent / item["file"]).resolve()), name)
    return listed


def check_listed(definition: MenuDefinition, listed: Mapping[str, str]) -> list[Problem]:
    """A listed service's start screen must still fit with the footer a directory adds to it
    (``0.Rudi``: back to the directory), before a citizen finds out."""
    name = listed.get(str(Path(definition.source).resolve()))
    return check_lengths(definition, definition.source, directory=name) if name else []


def is_directory(definition: MenuDefinition) -> bool:
    return isinstance(definition.screens.get(START), DirectoryScreen)


def check_extended_codes(
    definitions: Mapping[str, MenuDefinition], service_codes: Mapping[str, str]
) -> list[Problem]:
    """A service's own code under a directory's code must be the number the directory gives it:
    ``*152*00*2#`` in a menu file while the directory's 2nd entry is another service would send
    the same dial to two services depending on how it was typed."""
    problems: list[Problem] = []
    for code, name in service_codes.items():
        directory = definitions.get(name)
        if directory is None or not is_directory(directory) or is_fallback(directory):
            continue  # a plain list stands in for a broken file: its numbers prove nothing
        screen = directory.screens[START]
        assert isinstance(screen, DirectoryScreen)
        prefix = code.rstrip("#") + "*"
        for definition in definitions.values():
            for own in definition.codes:
                number = own.strip().rstrip("#")[len(prefix) :]
                if not own.startswith(prefix) or not number.isdigit():
                    continue
                index = int(number) - 1
                listed = screen.entries[index].service if 0 <= index < len(screen.entries) else ""
                if listed != definition.service:
                    says = f"lists '{listed}' there" if listed else "has no such entry"
                    problems.append(
                        Problem(
                            definition.source,
                            "-",
                            f"short code {own} is claimed by '{definition.service}' but "
                            f"directory '{name}' ({directory.source}) {says}",
                            definition.key_lines.get("codes"),
                        )
                    )
    return problems
