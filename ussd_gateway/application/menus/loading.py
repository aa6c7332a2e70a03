"""Loading every service and directory for serving: a broken file disables its service alone.

Start-up, reloads and journey tests read the menus through ``load_services``. Problems that
belong to one file (its YAML, schema, texts, owner) disable that file's service only: its
codes answer "unavailable" and directories list it as temporarily unavailable, while every
other service is served. A broken directory file keeps its code answering: on a reload with
the directory it replaces, at start with a plain list of the services that loaded. Problems
between files (a code or SMS keyword claimed twice, one
service name in two files) and broken catalogues stop the whole load: nobody can tell which
side is right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ussd_gateway.application.sms.service_routes import config_clashes
from ussd_gateway.config.settings import Settings
from ussd_gateway.engine.definition import (
    Catalogue,
    DefinitionError,
    Keyword,
    MenuDefinition,
    Problem,
)
from ussd_gateway.engine.directory import (
    check_extended_codes,
    check_listed,
    fallback_directory,
    inspect_directory,
    is_directory,
    is_directory_file,
    is_fallback,
    listed_files,
    written_name,
)
from ussd_gateway.engine.keywords import parse_keywords
from ussd_gateway.engine.lint import check_codes, check_keywords
from ussd_gateway.engine.loader import check_owner, inspect_menu, load_catalogue
from ussd_gateway.engine.yaml_source import load_yaml


@dataclass(frozen=True, slots=True)
class Disabled:
    """A service (or directory) not served, and why (each problem names file and line)."""

    service: str
    file: str
    problems: tuple[Problem, ...]
    keywords: tuple[Keyword, ...] = ()
    """SMS keywords the broken file still declares, so they answer "unavailable", not help."""

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


@dataclass(slots=True)
class Loaded:
    definitions: dict[str, MenuDefinition] = field(default_factory=dict)
    """Served services and directories, by name."""
    disabled: dict[str, Disabled] = field(default_factory=dict)
    """Broken, with no earlier version to fall back on: not served (codes say unavailable)."""
    kept: dict[str, Disabled] = field(default_factory=dict)
    """Broken on a reload: the version served until now goes on serving (in ``definitions``)."""
    fallback: dict[str, Disabled] = field(default_factory=dict)
    """Directories whose file is broken with no good version to keep: a plain list of the
    services that loaded stands in (in ``definitions``)."""
    warnings: list[Problem] = field(default_factory=list)


def yaml_files(settings: Settings) -> list[Path]:
    return sorted(Path(settings.menus_dir).glob("*.yaml"))


def split_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(menu files, directory files)."""
    directories = [p for p in paths if is_directory_file(p)]
    return [p for p in paths if p not in directories], directories


def declared_name(path: Path, key: str) -> str:
    """The name a broken file declares, when it can be read at all; else the file's stem."""
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
        name = raw.get(key) if isinstance(raw, Mapping) else None
    except Exception:  # broken beyond reading: the file name is the best guess
        name = None
    return name if isinstance(name, str) and name.isidentifier() else path.stem


def menu_files_for_directories(
    definitions: Mapping[str, MenuDefinition], problems: list[Problem]
) -> tuple[dict[str, MenuDefinition], dict[str, str]]:
    """What ``inspect_directory`` needs from an ``inspect_menus`` answer: the definitions by
    resolved file, and the declared service name of each file with an error."""
    by_file = {str(Path(d.source).resolve()): d for d in definitions.values()}
    failed = dict.fromkeys(p.file for p in problems if p.severity == "error")
    broken = {str(Path(file).resolve()): declared_name(Path(file), "service") for file in failed}
    return by_file, broken


def declared_keywords(path: Path) -> tuple[Keyword, ...]:
    """The ``keywords:`` of a file too broken to load, when that part can still be read."""
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
        keywords, _ = parse_keywords(raw.get("keywords"), str(path))
    except Exception:  # broken beyond reading: its keywords get the help text
        return ()
    return keywords


def load_services(
    settings: Settings, previous: Mapping[str, MenuDefinition] | None = None
) -> Loaded:
    """Every menu and directory of ``settings.menus_dir``; DefinitionError only for problems
    that span files (or broken catalogues).

    ``previous``: what is served now (on a reload). A broken file whose service is served
    keeps its current version, so a typo never takes a working service down; without one
    (at start) the service is disabled.
    """
    previous = previous or {}
    catalogues, problems = load_catalogues(settings)
    if problems:
        raise DefinitionError(problems)
    menus, directories = split_files(yaml_files(settings))
    listed = listed_files(directories)
    loaded = Loaded()
    parsed: dict[str, MenuDefinition] = {}
    by_file: dict[str, MenuDefinition] = {}
    broken: dict[str, str] = {}
    for path in menus:
        definition, found = inspect_menu(
            path, catalogues=catalogues, navigation=settings.navigation
        )
        if definition is not None:
            found += check_owner(definition) + check_listed(definition, listed)
            parsed[str(path)] = definition
        errors = [p for p in found if p.severity == "error"]
        loaded.warnings += [p for p in found if p.severity != "error"]
        if definition is None or errors:
            name = definition.service if definition is not None else declared_name(path, "service")
            last = previous.get(name)
            if last is None or is_directory(last):
                keywords = definition.keywords if definition else declared_keywords(path)
                loaded.disabled[name] = Disabled(name, str(path), tuple(errors), keywords)
                broken[str(path.resolve())] = name
                continue
            loaded.kept[name] = Disabled(name, str(path), tuple(errors))
            definition = last
        if definition.service in loaded.definitions:
            other = loaded.definitions[definition.service].source
            raise DefinitionError(
                [Problem(str(path), "-", f"service '{definition.service}' is also in {other}")]
            )
        loaded.definitions[definition.service] = definition
        by_file[str(path.resolve())] = definition
    clashes = check_codes(parsed, settings.service_codes, settings.config_path)
    clashes += check_keywords(parsed)
    clashes += config_clashes(settings, parsed.values())
    if clashes:
        raise DefinitionError(clashes)
    for path in directories:
        definition, found = inspect_directory(path, by_file, broken, settings.navigation)
        if definition is None or found:
            if definition is not None:
                name = definition.service
            else:  # unreadable as YAML: its `directory:` line may still say which code it serves
                name = written_name(path) or declared_name(path, "directory")
            definition = _instead_of_broken(path, name, previous, by_file, settings, loaded, found)
            if definition is None:
                continue
        if definition.service in loaded.definitions:
            raise DefinitionError(
                [Problem(str(path), "-", f"'{definition.service}' is also a service's name")]
            )
        loaded.definitions[definition.service] = definition
    clashes = check_extended_codes(loaded.definitions, settings.service_codes)
    if clashes:
        raise DefinitionError(clashes)
    return loaded


def _instead_of_broken(
    path: Path,
    name: str,
    previous: Mapping[str, MenuDefinition],
    by_file: Mapping[str, MenuDefinition],
    settings: Settings,
    loaded: Loaded,
    found: list[Problem],
) -> MenuDefinition | None:
    """What a directory's code serves while its file is broken: the last good directory (on a
    reload), else a plain list of the services that loaded; None (disabled) when none did."""
    last = previous.get(name)
    if last is not None and is_directory(last) and not is_fallback(last):
        loaded.kept[name] = Disabled(name, str(path), tuple(found))
        return last
    languages = tuple(dict.fromkeys([settings.default_language, "sw", "en"]))
    plain = fallback_directory(path, name, by_file, settings.navigation, languages)
    if plain is None:
        loaded.disabled[name] = Disabled(name, str(path), tuple(found))
        return None
    loaded.fallback[name] = Disabled(name, str(path), tuple(found))
    return plain


def load_catalogues(settings: Settings) -> tuple[dict[str, Catalogue], list[Problem]]:
    """The configured catalogues, by configured and by declared name, and what is wrong."""
    catalogues: dict[str, Catalogue] = {}
    problems: list[Problem] = []
    for name, path in settings.catalogues.items():
        try:
            catalogue = load_catalogue(Path(path))
        except DefinitionError as exc:
            problems += exc.problems
            continue
        except OSError as exc:
            problems.append(Problem(str(path), "-", f"cannot read: {exc}"))
            continue
        catalogues[name] = catalogue
        catalogues.setdefault(catalogue.name, catalogue)
    return catalogues, problems


def load_definitions(settings: Settings) -> dict[str, MenuDefinition]:
    """Every service and directory, validated; any broken file raises with every problem
    (``file: screen: problem``). Serving is more forgiving: see ``services.load_services``."""
    loaded = load_services(settings)
    if loaded.disabled or loaded.fallback:
        broken = [*loaded.disabled.values(), *loaded.fallback.values()]
        raise DefinitionError([p for d in broken for p in d.problems])
    return loaded.definitions
