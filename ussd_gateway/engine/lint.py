"""Checks that need the whole menu (or every menu) at once, and the list of every rule.

The parser reports what is wrong with one screen as it reads it (schema, languages); the
checks here follow the flow: which variables a screen can count on, which values a screen must
be sized for, which short codes two services both claim. ``RULES`` names every rule the validator
applies, so the operators' guide and the tests can be checked against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import meta

from ussd_gateway.config.settings import normalise_code
from ussd_gateway.domain.templates import TEMPLATES, is_template
from ussd_gateway.engine.definition import MenuDefinition, Problem
from ussd_gateway.engine.yaml_source import duplicate_keys, key_line, line_of, load_yaml


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    severity: str
    summary: str


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule("yaml", "error", "the file is not valid YAML"),
        Rule("schema", "error", "unknown screen type or key, a missing key, a wrong value type"),
        Rule("duplicate-key", "error", "a key (such as a screen id) written twice in one mapping"),
        Rule("unknown-screen", "error", "`next` (or `start`, `default`...) names no screen"),
        Rule("unreachable", "warning", "no path from `start` reaches the screen"),
        Rule("dead-end", "error", "a screen with no way forward that is not an `end` screen"),
        Rule("missing-language", "error", "a text is missing in one of the service's languages"),
        Rule(
            "too-long",
            "error",
            "a screen can exceed 182 characters (80 in UCS-2) in some language, with the "
            "longest values its variables can take, a hint and the navigation footer (on the "
            "start screen of a service a directory lists: the directory's back line)",
        ),
        Rule("duplicate-code", "error", "two services claim the same short code"),
        Rule("duplicate-keyword", "error", "two services declare the same pull SMS keyword"),
        Rule(
            "owner", "error", "a service file without `owner` (institution, contact) or `backend`"
        ),
        Rule(
            "undefined-variable",
            "error",
            "a template uses a variable that no earlier screen on any path can set",
        ),
        Rule("no-validation", "warning", "an `input` accepts anything: no `validate`"),
        Rule(
            "sms-too-long",
            "warning",
            "an `end` screen's `sms:` text can need more SMS parts than `sms.max_segments` "
            "(it would be cut), with the longest values its variables can take",
        ),
    )
}

BUILTIN_VARIABLES = frozenset({"language"})
"""Variables every template can read without any screen setting them."""


def article(word: str) -> str:
    """``a menu``, ``an input``: messages read as sentences."""
    return f"an {word}" if word[:1].lower() in "aeiou" else f"a {word}"


# ---- duplicate keys ----


def check_duplicate_keys(raw: Mapping[str, Any], file: str) -> list[Problem]:
    """A key written twice: YAML keeps the last silently, so the first would vanish unseen."""
    problems = [
        Problem(file, "-", f"'{key}' is written twice; the first is ignored", line)
        for key, line in getattr(raw, "duplicates", [])
    ]
    screens = raw.get("screens")
    for key, line in getattr(screens, "duplicates", []):
        problems.append(Problem(file, str(key), "screen defined twice; the first is ignored", line))
    if isinstance(screens, Mapping):
        for screen_id, screen in screens.items():
            for key, line in duplicate_keys(screen):
                problems.append(
                    Problem(file, str(screen_id), f"'{key}' is written twice in one mapping", line)
                )
    for name, value in raw.items():
        if name != "screens":
            for key, line in duplicate_keys(value):
                problems.append(Problem(file, "-", f"'{key}' is written twice in '{name}'", line))
    return problems


# ---- variables ----


def available_variables(definition: MenuDefinition) -> dict[str, frozenset[str]]:
    """Per screen, the variables some path from the start may have set when it shows.

    A may-analysis (union over paths): a template is only blamed when *no* path sets what it
    reads, since a screen reached both with and without a value is a normal ``{% if %}``.
    """
    screens = definition.screens
    before: dict[str, set[str]] = {definition.start: set(BUILTIN_VARIABLES)}
    todo = [definition.start]
    while todo:
        current = todo.pop()
        screen = screens.get(current)
        if screen is None:
            continue
        after = before[current] | set(screen.samples())
        for edge in screen.targets():
            known = before.get(edge.target)
            if edge.target not in screens or (known is not None and after <= known):
                continue
            before[edge.target] = (known or set()) | after
            todo.append(edge.target)
    return {name: frozenset(found) for name, found in before.items()}


def _strings(value: Any, line: int | None, key: str = "") -> Iterator[tuple[str, str, int | None]]:
    """Every string of a screen with the key it sits under and its line."""
    if isinstance(value, Mapping):
        for k, item in value.items():
            yield from _strings(item, key_line(value, k) or line, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, line_of(item) or line, key)
    elif isinstance(value, str):
        yield key, value, line


def variables_used(raw_screen: Mapping[str, Any]) -> Iterator[tuple[str, int | None]]:
    """Variables a screen reads: in its templates, router conditions and variable-name keys."""
    kind = raw_screen.get("type")
    for key, value, line in _strings(raw_screen, line_of(raw_screen)):
        source = None
        if kind == "router" and key == "when":
            source = "{{ (" + value + ") }}"
        elif is_template(value):
            source = value
        elif kind == "lookup" and key == "reference":
            yield value, line
        elif kind == "submit" and key in {"anonymous", "kind", "sms_consent"}:
            yield value, line
        if source is None:
            continue
        try:
            names = meta.find_undeclared_variables(TEMPLATES.parse(source))
        except Exception:  # a syntax error is reported by the parser already
            continue
        for name in sorted(names):
            yield name, line


def check_variables(
    definition: MenuDefinition, raw_screens: Mapping[str, Any], file: str
) -> list[Problem]:
    """Templates that read a variable no earlier screen, on any path, can set."""
    available = available_variables(definition)
    problems: list[Problem] = []
    for screen_id, known in available.items():
        raw = raw_screens.get(screen_id)
        if screen_id not in definition.screens or not isinstance(raw, Mapping):
            continue
        reported: set[str] = set()
        for name, line in variables_used(raw):
            if name in known or name in reported:
                continue
            reported.add(name)
            problems.append(
                Problem(
                    file,
                    screen_id,
                    f"uses variable '{name}' that no earlier screen sets",
                    line,
                )
            )
    return problems


# ---- worst-case values for sizing screens ----


def _length(value: Any) -> int:
    if isinstance(value, Mapping):
        return sum(_length(v) for v in value.values())
    return len(str(value))


def sample_values(definition: MenuDefinition) -> dict[str, list[Any]]:
    """Every value worth sizing with, per variable, longest first."""
    samples: dict[str, list[Any]] = {}
    for screen in definition.screens.values():
        for name, values in screen.samples().items():
            for value in values:
                if value not in samples.setdefault(name, []):
                    samples[name].append(value)
    for values in samples.values():
        values.sort(key=_length, reverse=True)
    return samples


def variable_sets(definition: MenuDefinition) -> list[dict[str, Any]]:
    """Variable assignments to render every screen with: the longest value of everything, then
    each other value of each variable in turn (the rest longest), then every falsy value at once.
    Both branches of ``{% if x %}`` and ``{% if not x %}`` get sized, not only the truthy one."""
    samples = sample_values(definition)
    longest = {name: values[0] for name, values in samples.items()}
    sets = [longest]
    for name, values in samples.items():
        for value in values[1:]:
            sets.append({**longest, name: value})
    falsy = {
        name: next(v for v in values if not v)
        for name, values in samples.items()
        if any(not v for v in values)
    }
    if falsy:
        sets.append({**longest, **falsy})
    return sets


# ---- short codes ----


def check_codes(
    definitions: Mapping[str, MenuDefinition],
    service_codes: Mapping[str, str],
    config_path: Path | None = None,
) -> list[Problem]:
    """A short code claimed by two services: in menu files (``codes:``) or in the configuration."""

    problems: list[Problem] = []
    config = str(config_path or "config/gateway.yaml")
    config_lines: Mapping[Any, int] = {}
    raw_codes: Any = {}
    if config_path is not None and config_path.exists():
        try:
            raw_codes = (load_yaml(config_path.read_text(encoding="utf-8")) or {}).get(
                "service_codes"
            ) or {}
        except Exception:  # the settings loader reports an unreadable file
            raw_codes = {}
        config_lines = getattr(raw_codes, "key_lines", {})
        for key, line in getattr(raw_codes, "duplicates", []):
            problems.append(Problem(config, "-", f"short code {key} is listed twice", line))

    claims: list[tuple[str, str, str, int | None]] = []
    for definition in definitions.values():
        for code in definition.codes:
            claims.append(
                (
                    normalise_code(code),
                    definition.service,
                    definition.source,
                    definition.key_lines.get("codes"),
                )
            )
    if isinstance(raw_codes, Mapping) and raw_codes:
        entries = [(str(k), str(v), config_lines.get(k)) for k, v in raw_codes.items()]
    else:
        entries = [(k, v, None) for k, v in service_codes.items()]
    for code, service, line in entries:
        claims.append((normalise_code(code), service, config, line))

    return problems + claimed_twice(claims, "-", "short code", "claimed")


def claimed_twice(
    claims: Iterable[tuple[str, str, str, int | None]], screen: str, noun: str, verb: str
) -> list[Problem]:
    """Each (name, service, file, line) claim of a name another service claimed first, e.g.
    ``short code *152*01# is claimed by 'b' and by 'a' (menus/a.yaml:3)``."""
    problems: list[Problem] = []
    owners: dict[str, tuple[str, str, int | None]] = {}
    for name, service, source, line in claims:
        first = owners.setdefault(name, (service, source, line))
        if first[0] != service:
            where = f"{first[1]}:{first[2]}" if first[2] else first[1]
            problems.append(
                Problem(
                    source,
                    screen,
                    f"{noun} {name} is {verb} by '{service}' and by '{first[0]}' ({where})",
                    line,
                )
            )
    return problems


# ---- pull SMS keywords ----


def check_keywords(definitions: Mapping[str, MenuDefinition]) -> list[Problem]:
    """A pull SMS keyword declared by two services: an inbound text could not be routed."""
    claims = [
        (
            word,
            definition.service,
            definition.source,
            keyword.line or definition.key_lines.get("keywords"),
        )
        for definition in definitions.values()
        for keyword in definition.keywords
        for word in keyword.words
    ]
    return claimed_twice(claims, "keywords", "SMS keyword", "declared")


# ---- SMS texts ----


def check_sms_lengths(definition: MenuDefinition, max_segments: int) -> list[Problem]:
    """``sms:`` texts that can need more parts than the cap, rendered with every sample set
    (inputs at their ``max_length``, the longest catalogue label...), in every language."""
    from ussd_gateway.domain.gsm import normalise_typography, sms_segments
    from ussd_gateway.engine.screens.end import EndScreen

    problems: list[Problem] = []
    samples = variable_sets(definition)
    for screen in definition.screens.values():
        if not isinstance(screen, EndScreen) or screen.sms is None:
            continue
        for language in definition.languages:
            worst = max(
                (
                    sms_segments(normalise_typography(screen.sms.render(language, variables)))
                    for variables in samples
                ),
                default=(0, "gsm7"),
            )
            if worst[0] > max_segments:
                problems.append(
                    Problem(
                        definition.source,
                        screen.id,
                        f"{language}: the sms text can take {worst[0]} SMS parts ({worst[1]}), "
                        f"over sms.max_segments ({max_segments}); it would be cut",
                        screen.line,
                        "warning",
                    )
                )
    return problems
