"""One spelling per phone number, whatever the aggregator or the citizen typed.

Aggregators send ``+255712…``, ``255712…`` or the local ``0712…`` for the same citizen; limits
and opt-outs must see one number, or a second spelling is a second budget.
"""

from __future__ import annotations


def international(phone: str, country: str) -> str:
    """``+<digits>``: ``0712…`` (local, in ``country``), ``00255712…``, ``255712…`` and
    ``+255 712 …`` all become ``+255712…``. Not a validator: the adapters check numbers."""
    compact = "".join(phone.split()).replace("-", "")
    if compact.startswith("+"):
        return compact
    if compact.startswith("00"):
        return "+" + compact[2:]
    if compact.startswith("0"):
        return f"+{country}{compact[1:]}"
    return "+" + compact
