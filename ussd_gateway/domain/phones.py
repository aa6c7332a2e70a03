"""One spelling per phone number, whatever the aggregator or the citizen typed.

Aggregators send ``+255712…``, ``255712…`` or the local ``0712…`` for the same citizen; limits
and opt-outs must see one number, or a second spelling is a second budget.
"""

from __future__ import annotations


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
