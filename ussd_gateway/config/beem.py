"""``beem:``: Beem's requests do not name the dialled code, so the file may."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BeemSettings:
    service_code: str = ""
    """The code Beem routes here; empty: the first configured short code."""
