"""``reload:``: publishing edited menus without a restart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from ussd_gateway.config.kinds import SECONDS, above


@dataclass(frozen=True, slots=True)
class ReloadConfig:
    watch: bool = False
    """Reload when a menu or catalogue file changes (``serve --reload`` turns it on)."""
    poll_interval: Annotated[float, SECONDS, above(0)] = 1.0
    """Seconds between two looks at the files when watching."""
