"""The ``keywords:`` of a menu file: the pull SMS words a service answers to, in each language.

Grammar (one entry per keyword; each word is given per language, or once for all)::

    keywords:
      - word: {sw: MREJESHO, en: FEEDBACK}
        subs:                                # sub-keyword -> action name
          status: {sw: HALI, en: STATUS}
          give: {sw: TOA, en: GIVE}
        default: give                        # optional: a text with no known sub-keyword

Parsing lives here so the loader, the validator and the SMS channel read one grammar.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ussd_gateway.engine.definition import Keyword, Problem
from ussd_gateway.engine.yaml_source import key_line, line_of

WORD = re.compile(r"[A-Z0-9]{2,20}")
"""A keyword as a feature phone types it: letters and digits, compared in upper case."""

ENTRY_KEYS = frozenset({"word", "subs", "default"})

ACTIONS = frozenset({"give", "status", "register", "help"})
"""What a sub-keyword may ask for (the SMS channel's ``sms/service_routes.py`` maps each onto
its generic action, scoped to the service): ``give`` a message to the service's backend,
``status`` of a reference (or, with none, the sender's own ``once_per`` registration),
``register`` (how to register), ``help``."""


def _words(value: Any, languages: dict[str, str] | None = None) -> list[str] | None:
    """``MREJESHO``, ``[MREJESHO, FEEDBACK]`` or ``{sw: MREJESHO, en: FEEDBACK}``, upper-cased;
    the language of each word given per language goes into ``languages``."""
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list):
        items = value
    elif isinstance(value, Mapping):
        items = list(value.values())
    else:
        return None
    words = [str(item).strip().upper() for item in items]
    if not words or not all(WORD.fullmatch(w) for w in words):
        return None
    if isinstance(value, Mapping) and languages is not None:
        for language, word in zip(value, words, strict=True):
            languages.setdefault(word, str(language))
    return words


def parse_keywords(raw: Any, file: str) -> tuple[tuple[Keyword, ...], list[Problem]]:
    """The service's keywords and what is wrong with them (within this one file)."""
    if raw is None:
        return (), []
    problems: list[Problem] = []

    def problem(message: str, where: Any, key: str | None = None) -> None:
        line = key_line(where, key) if key is not None else None
        problems.append(Problem(file, "keywords", message, line or line_of(where)))

    entries = raw if isinstance(raw, list) else [raw]
    keywords: list[Keyword] = []
    seen: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or "word" not in entry:
            problem("each keyword needs 'word' (per language) and may have 'subs'", entry)
            continue
        for key in entry:
            if key not in ENTRY_KEYS:
                problem(f"unknown key '{key}' in a keyword", entry, key)
        languages: dict[str, str] = {}
        words = _words(entry["word"], languages)
        if words is None:
            problem("'word' must be letters or digits (2-20), per language", entry, "word")
            continue
        subs: dict[str, str] = {}
        raw_subs = entry.get("subs") or {}
        if not isinstance(raw_subs, Mapping):
            problem("'subs' must map an action name to its words", entry, "subs")
            raw_subs = {}
        for action, value in raw_subs.items():
            sub_words = _words(value, languages)
            if not str(action).isidentifier() or sub_words is None:
                problem(f"sub-keyword '{action}' must be letters or digits, per language", raw_subs)
                continue
            if action not in ACTIONS:
                problem(
                    f"sub-keyword action '{action}' is not one of {', '.join(sorted(ACTIONS))}",
                    raw_subs,
                )
                continue
            for word in sub_words:
                if subs.get(word, action) != action:
                    problem(
                        f"sub-keyword {word} means both '{subs[word]}' and '{action}'", raw_subs
                    )
                subs[word] = str(action)
        default = entry.get("default")
        if default is not None and str(default) not in set(subs.values()):
            problem(f"'default' must name one of the subs, not '{default}'", entry, "default")
            default = None
        for word in words:
            if word in seen:
                problem(f"keyword {word} is declared twice in this file", entry, "word")
            seen[word] = word
        keywords.append(
            Keyword(
                tuple(dict.fromkeys(words)), subs, str(default or ""), line_of(entry), languages
            )
        )
    return tuple(keywords), problems
