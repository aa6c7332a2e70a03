"""Phone numbers as aggregators and citizens spell them: one line, one identity.

Aggregators send ``+255712…``, ``255712…`` or the local ``0712…`` for the same citizen; limits
and opt-outs must see one number (``international``), or a second spelling is a second budget;
a session compares its owner's number with ``same_number``.
"""

from __future__ import annotations

NATIONAL_DIGITS = 7
"""A local number shorter than this after its leading zeros is too short to match on its tail."""


def same_number(first: str, second: str) -> bool:
    """True when both name one line: the same digits, or a local ``0…`` number whose national
    digits end the other (international) one. Spaces, dashes and ``+`` are ignored."""
    a, b = _digits(first), _digits(second)
    if not a or not b:
        return a == b
    if a == b:
        return True
    for local, other in ((first, b), (second, a)):
        national = _digits(local).lstrip("0")
        if (
            local.strip().startswith("0")
            and len(national) >= NATIONAL_DIGITS
            and other.endswith(national)
        ):
            return True
    return False


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isascii() and c.isdigit())


def international(phone: str, country: str) -> str:
    """``+<digits>``: ``0712…`` (local, in ``country``), ``00255712…``, ``255712…`` and
    ``+255 712 …`` all become ``+255712…``. No calling code starts with 0, so ``+0712…`` (a
    local number someone put a ``+`` before) is local too. Not a validator: the adapters are."""
    digits = "".join(phone.split()).replace("-", "").removeprefix("+")
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return f"+{country}{digits[1:]}"
    return "+" + digits
