"""The rules a backend's status reports follow: a case only moves forward, and a signed report
is only good for a short while.

A citizen must never see "resolved" turn back into "being handled" because a backend retried an
old request or someone replayed one; reopening a closed case has to be said in so many words.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from typing import Any

RECEIVED = "received"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
REJECTED = "rejected"
REOPENED = "reopened"

CASE_STATUSES: tuple[str, ...] = (RECEIVED, IN_PROGRESS, RESOLVED, REJECTED, REOPENED)
"""Statuses a backend may report about a submission it holds."""

_NEXT: dict[str, frozenset[str]] = {
    RECEIVED: frozenset({IN_PROGRESS, RESOLVED, REJECTED}),
    IN_PROGRESS: frozenset({RESOLVED, REJECTED}),
    REOPENED: frozenset({IN_PROGRESS, RESOLVED, REJECTED}),
    RESOLVED: frozenset({REOPENED}),
    REJECTED: frozenset({REOPENED}),
}
"""Where a case may go from each backend status. The gateway's own delivery statuses
(pending, delivered, failed, dead) may go to any backend status but ``reopened``: whatever the
worker last recorded, the backend has the case now."""


class Move(enum.Enum):
    FORWARD = "forward"
    SAME = "same"
    """A repeat of the current status: nothing changes, nobody is told again."""


class RefusedMove(ValueError):
    """A report that would move a case backwards, or one older than the last one taken."""

    def __init__(self, reason: str, current: str, attempted: str) -> None:
        super().__init__(reason)
        self.current = current
        self.attempted = attempted


def check_move(current: str, attempted: str) -> Move:
    """Whether a case at ``current`` may take ``attempted``; RefusedMove with why not."""
    if current == attempted:
        return Move.SAME
    allowed = _NEXT.get(current)
    if allowed is None:  # still the gateway's (pending, delivered, failed, dead)
        if attempted == REOPENED:
            raise RefusedMove(
                f"cannot reopen: status is {current}, not {RESOLVED} or {REJECTED}",
                current,
                attempted,
            )
        return Move.FORWARD
    if attempted in allowed:
        return Move.FORWARD
    if attempted in (RESOLVED, REJECTED):  # one closed case cannot become the other
        reason = f"status is already {current}; report {REOPENED} first to change it"
    elif current in (RESOLVED, REJECTED):
        reason = f"status is {current}; it cannot go back to {attempted} (report {REOPENED})"
    else:
        reason = f"status cannot go back from {current} to {attempted}"
    raise RefusedMove(reason, current, attempted)


def check_order(
    last: dt.datetime | None, reported: dt.datetime | None, current: str, attempted: str
) -> None:
    """A timestamped report older than the last one taken is a replay or overtaken: refused."""
    if last is not None and reported is not None and reported < last:
        raise RefusedMove(
            f"report of {_iso(reported)} is older than the last one taken ({_iso(last)})",
            current,
            attempted,
        )


class BadTimestamp(ValueError):
    """The report's ``timestamp`` is outside the accepted window."""


class MalformedTimestamp(BadTimestamp):
    """The report's ``timestamp`` is missing or unreadable: a malformed report."""


def parse_timestamp(value: Any) -> dt.datetime:
    """``timestamp`` as sent: ISO 8601 with a zone, or Unix seconds. BadTimestamp otherwise."""
    if isinstance(value, bool):
        raise MalformedTimestamp("timestamp must be ISO 8601 with a zone or Unix seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value < 1e11:
            raise MalformedTimestamp("timestamp in Unix seconds is out of range")
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(dt.UTC)
    raise MalformedTimestamp(
        "timestamp must be ISO 8601 with a zone (e.g. 2026-12-07T16:20:00Z) or Unix seconds"
    )


def check_fresh(reported: dt.datetime, now: float, window: float) -> None:
    """Refuse a report stamped more than ``window`` seconds from ``now`` (either way): an old
    body replayed, or a backend whose clock is wrong."""
    skew = reported.timestamp() - now
    if abs(skew) > window:
        when = "old" if skew < 0 else "in the future"
        raise BadTimestamp(
            f"timestamp {_iso(reported)} is {abs(skew):.0f}s {when}; "
            f"reports are accepted within {window:.0f}s of the gateway's clock"
        )


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def report_time(value: Any, *, signed: bool, now: float, window: float) -> dt.datetime | None:
    """When a report says it was made, checked: a signed report must say, within ``window``
    seconds of ``now`` (the signature covers the body, so its timestamp cannot be changed)."""
    if value is None:
        if signed:
            raise MalformedTimestamp(
                "timestamp is missing: a signed report must carry one (ISO 8601 or Unix seconds)"
            )
        return None
    reported = parse_timestamp(value)
    check_fresh(reported, now, window)
    return reported
