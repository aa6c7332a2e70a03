"""An institution's own USSD application mounted under a directory, as the engine sees it."""

from __future__ import annotations

from typing import Protocol

from ussd_gateway.domain.mounted_apps import AppHop, AppScreen, AppUnavailable

__all__ = ["AppHop", "AppScreen", "AppUnavailable", "MountedApps"]


class MountedApps(Protocol):
    async def hop(self, hop: AppHop) -> AppScreen:
        """The application's screen for ``hop``; raises ``AppUnavailable`` when there is none."""
        ...
