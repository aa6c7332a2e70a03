"""A clock a test moves forward, so retry delays pass without sleeping through them."""

from __future__ import annotations

import datetime as dt

from ussd_gateway.adapters.db.models import utcnow


class SteppedClock:
    """Real time plus an offset that only grows: rows stamped by the database or by code
    reading the real clock are never in this clock's future."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)
