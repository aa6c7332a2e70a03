"""Whether two spellings of a phone number name the same line.

Adapters give international numbers with ``+`` and keep a local ``0…`` number as the
aggregator sent it; the same citizen can so arrive as ``+255712345678`` and ``0712345678``.
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
