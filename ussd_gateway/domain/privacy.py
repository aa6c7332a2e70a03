"""Phone numbers are personal data: what may appear in logs is a masked form."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """``+255712345678`` -> ``+2557****678``: enough to correlate, not enough to call."""
    if not phone:
        return "-"
    plus = "+" if phone.startswith("+") else ""
    digits = phone.lstrip("+")
    if len(digits) <= 6:
        return plus + "*" * len(digits)
    return f"{plus}{digits[:4]}{'*' * (len(digits) - 7)}{digits[-3:]}"
