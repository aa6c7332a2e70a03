"""``simulator:``: the browser phone for testers, always off when ``ENV=production``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    enabled: bool = False
    """Served at ``GET /simulator``; the loader turns it off when ``ENV`` is ``production``:
    it lets anyone on the network set a number's language and try every menu."""
