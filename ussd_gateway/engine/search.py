"""Type to search on a list: a citizen types letters instead of a number and sees what matches.

Matching is forgiving as a phone keypad demands: case and accents do not count (``Zanzibar``,
``ZANZIBÁR`` and ``zanzibar`` are one word), and each typed word may be the start of any word of
an entry's label or full name. Entries whose label starts with the term come first, so ``tan``
lists "TANESCO" before an institution whose full name merely ends in "Tanzania".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ussd_gateway.engine import echo

SEARCH_VAR = "_search"
"""Session variable holding ``[screen id, term]`` while a list shows search results: it lives
in the session so the results survive to the next hop (a number typed on them, 98, 0)."""

TERM_SHOWN = 16
"""A term echoed on a screen (results header, no-match hint) is cut to this many characters."""

_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case, accents removed: what a comparison should see of ``text``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def is_search(entry: str) -> bool:
    """An entry with a letter in it is a search term, never a choice (choices are numbers)."""
    return any(ch.isalpha() for ch in entry)


def rank(term: str, label: str, name: str) -> int | None:
    """How well an entry matches ``term`` (lower is better), or None when it does not.

    0: the label starts with the term; 1: each typed word starts a word of the label;
    2: each starts a word of the label or the full name; 3: the term is inside either.
    """
    wanted = words(term)
    if not wanted:
        return None
    folded_label = fold(label)
    if folded_label.startswith(" ".join(wanted)):
        return 0
    label_words = words(label)
    if all(any(w.startswith(t) for w in label_words) for t in wanted):
        return 1
    all_words = label_words + words(name)
    if all(any(w.startswith(t) for w in all_words) for t in wanted):
        return 2
    compact = "".join(wanted)
    if compact in "".join(label_words) or compact in "".join(words(name)):
        return 3
    return None


def matches(term: str, entries: Sequence[tuple[str, str]]) -> list[int]:
    """Indexes of the ``(label, name)`` entries matching ``term``, best first, then in order."""
    ranked = [
        (r, i)
        for i, (label, name) in enumerate(entries)
        if (r := rank(term, label, name)) is not None
    ]
    return [i for _, i in sorted(ranked)]


def shown_term(term: str, limit: int = TERM_SHOWN) -> str:
    """The term as a screen echoes it (it is what the citizen typed): GSM-7 look-alikes,
    spaces tidied, cut to ``limit`` characters."""
    return str(echo.shown(" ".join(term.split()), max(1, limit)))
