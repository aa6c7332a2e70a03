"""What a citizen typed, as a screen may show it back: in GSM-7, and short enough to fit.

One character outside the GSM 7-bit alphabet turns the whole screen into UCS-2, which holds
80 characters instead of 182: an em-dash or an emoji in a message would push the confirm screen
off the phone. Echoed values are therefore shown with close GSM look-alikes (— → -, “ → ",
ā → a); a value that still cannot be written in GSM-7, or that is too long, is cut (ending in
``...``, which is GSM-7 too) until the screen fits. The stored value is never changed: only
what is shown.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ussd_gateway.domain.gsm import GSM_ALL, is_gsm7, normalise_typography, ussd_length

ELLIPSIS = "..."
"""Three full stops rather than "…" (U+2026), which is not in GSM-7."""

MAX_CUTS = 4
"""Rounds of cutting before giving up: each round fixes one value, and a screen echoes few."""


def transliterate(text: str) -> str:
    """``text`` with every character that has a GSM-7 look-alike replaced by it.

    Typography first (quotes, dashes, spaces), then letters with accents GSM-7 lacks lose them
    (``ā`` → ``a``, ``ş`` → ``s``); anything else (emoji, other scripts) stays as typed.
    """
    if is_gsm7(text):
        return text
    text = normalise_typography(text)
    return "".join(ch if ch in GSM_ALL else _look_alike(ch) for ch in text)


def _look_alike(ch: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base and is_gsm7(base) else ch


def shown(value: Any, cut: int | None = None) -> Any:
    """A variable as a screen shows it: transliterated, and cut to ``cut`` characters."""
    if not isinstance(value, str):
        return value
    text = transliterate(value)
    if cut is not None and cut < len(text):
        text = text[:cut].rstrip() + ELLIPSIS
    return text


def cuts_to_fit(
    render: Callable[[Mapping[str, int]], str],
    values: Mapping[str, Any],
    typed: Collection[str],
) -> str:
    """The screen ``render`` draws, with the echoed values in ``typed`` cut until it fits.

    A value still holding a character GSM-7 cannot write is first cut just before it: the
    screen then has 182 characters again instead of 80. Then the longest value gives up what
    the screen is over by. ``render(cuts)`` draws the screen with those cuts applied.
    """
    cuts: dict[str, int] = {}
    text = render(cuts)
    for _ in range(MAX_CUTS):
        used, limit, _encoding = ussd_length(text)
        if used <= limit:
            return text
        echoed = {
            name: shown(values[name], cuts.get(name))
            for name in typed
            if isinstance(values.get(name), str) and values[name]
        }
        wide = {name: text for name, text in echoed.items() if not is_gsm7(text)}
        if wide:
            for name, value in wide.items():
                cuts[name] = next(i for i, ch in enumerate(value) if ch not in GSM_ALL)
        elif echoed:
            name = max(echoed, key=lambda key: len(echoed[key]))
            cuts[name] = max(0, len(echoed[name]) - (used - limit) - len(ELLIPSIS))
        else:
            return text  # nothing typed on this screen: its own text is too long (validator)
        text = render(cuts)
    return text
