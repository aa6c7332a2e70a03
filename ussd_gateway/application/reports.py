"""Funnel and daily summary, computed from session events and submissions.

A session counts from its ``start`` event inside the period. Its outcome is its first ``end``
event's reason; without one, it *timed out* once it has been idle longer than the session TTL
(the telco dropped it or the citizen gave up), else it is still *in progress*.

A session through a directory (``*152*00#``) is a *visit* to the directory and one to each
service it entered from there: each service counts the screens shown inside it and ends as its
visit ended (completed, or ``to_directory`` when the citizen went back to the list); the
directory counts the sessions on its code, the list (``home``) when it was shown, a
``-> <service>`` step per service chosen, and ends as the service it was in. A visit without an
end is idle from the session's last event, wherever that was: a directory is not abandoned
while the citizen is busy in the service they chose.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ussd_gateway.adapters.db.models import SessionEvent, Submission
from ussd_gateway.adapters.observe.events import ENTERED, TO_DIRECTORY
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.directory import DirectoryScreen

LEFT = ("cancelled", "error", "timed_out", TO_DIRECTORY)
"""Outcomes of a session that ended without completing: its last screen is where it left."""
OUTCOMES = ("completed", *LEFT, "in_progress")

_PERIOD = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: dt.datetime) -> dt.datetime:
    """``7d``, ``24h``, ``30m``, ``2w`` before ``now``, or an ISO date/time (UTC if no zone)."""
    match = _PERIOD.match(value.strip())
    if match:
        return now - dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(
            f"--since {value!r}: give a period such as 7d, 24h, 30m, 2w or a date 2026-11-01"
        ) from exc
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


@dataclass
class Journey:
    """One visit of a session to a service (or directory), as its events tell it."""

    service: str
    started_at: dt.datetime
    last_at: dt.datetime
    screens: list[str] = field(default_factory=list)
    reason: str | None = None
    ended_at: dt.datetime | None = None
    session_id: str = ""

    def outcome(self, now: dt.datetime, ttl: float) -> str:
        if self.reason is not None:
            return self.reason
        idle = (now - self.last_at).total_seconds()
        return "timed_out" if idle > ttl else "in_progress"


async def load_journeys(
    engine: AsyncEngine, *, since: dt.datetime, service: str | None = None
) -> list[Journey]:
    """Visits started since ``since`` (to ``service``), in order of start.

    With ``service``, the other events of its sessions are read too: they say how long ago
    the session was last active.
    """
    ev = SessionEvent
    query = select(ev.session_id, ev.service, ev.kind, ev.screen, ev.reason, ev.at).where(
        ev.at >= since
    )
    if service is not None:
        sessions = select(ev.session_id).where(ev.service == service, ev.at >= since)
        query = query.where(ev.session_id.in_(sessions))
    query = query.order_by(ev.at, ev.id)
    open_visits: dict[tuple[str, str], Journey] = {}
    visits: list[Journey] = []
    active: dict[str, dt.datetime] = {}
    async with engine.connect() as connection:
        result = await connection.stream(query.execution_options(yield_per=2000))
        async for sid, svc, kind, screen, reason, at in result:
            active[sid] = at
            if service is not None and svc != service:
                continue
            journey = open_visits.get((sid, svc))
            if kind == "start":
                if journey is None or journey.reason is not None:  # first visit, or back again
                    journey = Journey(service=svc, started_at=at, last_at=at, session_id=sid)
                    open_visits[(sid, svc)] = journey
                    visits.append(journey)
                continue
            if journey is None:
                continue  # started before the period
            journey.last_at = max(journey.last_at, at)
            if journey.reason is not None:
                continue  # after its end: another visit's leftovers
            if kind == "screen" and screen:
                journey.screens.append(screen)
            elif kind == "end":
                journey.reason = reason or "error"
                journey.ended_at = at
    for journey in visits:
        if journey.reason is None:
            journey.last_at = max(journey.last_at, active[journey.session_id])
    return visits


def calls(journeys: Iterable[Journey]) -> list[Journey]:
    """The first visit of each session: one per call (through a directory, the directory's,
    which ends as the service chosen there)."""
    first: dict[str, Journey] = {}
    for journey in journeys:
        first.setdefault(journey.session_id, journey)
    return list(first.values())


@dataclass(frozen=True, slots=True)
class FunnelRow:
    screen: str
    reached: int
    left: int


@dataclass(frozen=True, slots=True)
class Funnel:
    service: str
    since: dt.datetime
    sessions: int
    outcomes: Mapping[str, int]
    rows: tuple[FunnelRow, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "since": self.since.isoformat(),
            "sessions": self.sessions,
            "outcomes": dict(self.outcomes),
            "screens": [
                {"screen": r.screen, "reached": r.reached, "left": r.left} for r in self.rows
            ],
        }


def journey_order(definition: MenuDefinition | None) -> list[str]:
    """Screens citizens can see, depth-first from the start screen along the menu's links.

    Depth-first keeps each branch together (give feedback … done, then track …), in the order
    the options are offered.
    """
    if definition is None:
        return []
    listing = definition.screens.get(definition.start)
    if isinstance(listing, DirectoryScreen):  # its list, then each service it offers
        return [definition.start, *(ENTERED + entry.service for entry in listing.entries)]
    order: list[str] = []
    seen: set[str] = set()
    stack = [definition.start]
    while stack:
        current = stack.pop()
        if current in seen or current not in definition.screens:
            continue
        seen.add(current)
        screen = definition.screens[current]
        if screen.interactive:
            order.append(current)
        stack.extend(reversed([edge.target for edge in screen.targets()]))
    return order


def funnel(
    journeys: Iterable[Journey],
    *,
    service: str,
    since: dt.datetime,
    now: dt.datetime,
    ttl: float,
    definition: MenuDefinition | None = None,
) -> Funnel:
    """Per screen: sessions that reached it, and sessions that ended-not-completed there."""
    reached: dict[str, int] = {}
    left: dict[str, int] = {}
    first_seen: list[str] = []
    outcomes = dict.fromkeys(OUTCOMES, 0)
    sessions = 0
    for journey in journeys:
        if journey.service != service:
            continue
        sessions += 1
        outcome = journey.outcome(now, ttl)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        for screen in dict.fromkeys(journey.screens):
            if screen not in reached:
                first_seen.append(screen)
            reached[screen] = reached.get(screen, 0) + 1
        if outcome in LEFT and journey.screens:
            last = journey.screens[-1]
            left[last] = left.get(last, 0) + 1
    order = journey_order(definition)
    order += [s for s in first_seen if s not in order]
    rows = tuple(FunnelRow(s, reached.get(s, 0), left.get(s, 0)) for s in order)
    return Funnel(service=service, since=since, sessions=sessions, outcomes=outcomes, rows=rows)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def funnel_table(report: Funnel) -> str:
    o = report.outcomes
    lines = [
        f"Funnel of {report.service}: sessions started since {report.since:%Y-%m-%d %H:%M} UTC",
        f"sessions {report.sessions} · completed {o['completed']} "
        f"({_percent(o['completed'], report.sessions)}) · cancelled {o['cancelled']} · "
        f"error {o['error']} · timed out {o['timed_out']} · in progress {o['in_progress']}"
        + (f" · back to directory {o[TO_DIRECTORY]}" if o[TO_DIRECTORY] else ""),
        "",
    ]
    width = max([len("screen"), *(len(r.screen) for r in report.rows)])
    lines.append(f"{'screen':<{width}}  {'reached':>7}  {'left':>5}  {'left %':>6}")
    lines.append(f"{'-' * width}  {'-' * 7}  {'-' * 5}  {'-' * 6}")
    for row in report.rows:
        lines.append(
            f"{row.screen:<{width}}  {row.reached:>7}  {row.left:>5}  "
            f"{_percent(row.left, row.reached):>6}"
        )
    return "\n".join(lines)


def funnel_png(report: Funnel, path: str) -> None:
    """A funnel chart: one centred bar per screen, as wide as the sessions that reached it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = [r for r in report.rows if r.reached] or list(report.rows)
    widest = max([r.reached for r in rows] + [1])
    figure, axes = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.6))
    try:
        positions = list(range(len(rows)))[::-1]
        for y, row in zip(positions, rows, strict=True):
            axes.barh(y, row.reached, left=(widest - row.reached) / 2, color="#2e7d9a")
            if row.left:
                axes.barh(y, row.left, left=(widest + row.reached) / 2 - row.left, color="#d9534f")
            axes.text(
                (widest + row.reached) / 2 + widest * 0.01,
                y,
                f"{row.reached}" + (f"  (left {row.left})" if row.left else ""),
                va="center",
                color="#222222",
                fontsize=9,
            )
        axes.set_xlim(0, widest * 1.2)
        axes.set_yticks(positions, [r.screen for r in rows])
        axes.set_xticks([])
        for side in ("top", "right", "bottom", "left"):
            axes.spines[side].set_visible(False)
        axes.set_title(
            f"{report.service}: {report.sessions} sessions since {report.since:%Y-%m-%d %H:%M} UTC"
            f"\nreached each screen (blue), left there without completing (red)",
            fontsize=10,
        )
        figure.tight_layout()
        figure.savefig(path, dpi=110)
    finally:
        plt.close(figure)


@dataclass(frozen=True, slots=True)
class Day:
    day: dt.date
    sessions: int
    completed: int
    timed_out: int
    median_seconds_to_complete: float | None
    submissions: int
    delivered: int

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "sessions": self.sessions,
            "completed": self.completed,
            "completion_rate": round(self.completed / self.sessions, 4) if self.sessions else None,
            "timed_out": self.timed_out,
            "median_seconds_to_complete": self.median_seconds_to_complete,
            "submissions": self.submissions,
            "delivered": self.delivered,
        }


async def submissions_per_day(
    engine: AsyncEngine, *, since: dt.datetime, service: str | None = None
) -> tuple[dict[dt.date, int], dict[dt.date, int]]:
    """Submissions stored per UTC day, and the delivered ones among them."""
    async with engine.connect() as connection:
        query = select(Submission.created_at, Submission.delivered_at).where(
            Submission.created_at >= since
        )
        if service is not None:
            query = query.where(Submission.service == service)
        stored: dict[dt.date, int] = {}
        delivered: dict[dt.date, int] = {}
        for row in await connection.execute(query):
            day = row[0].astimezone(dt.UTC).date()
            stored[day] = stored.get(day, 0) + 1
            if row[1] is not None:
                delivered[day] = delivered.get(day, 0) + 1
    return stored, delivered


def summary(
    journeys: Sequence[Journey],
    *,
    now: dt.datetime,
    ttl: float,
    stored: Mapping[dt.date, int],
    delivered: Mapping[dt.date, int],
) -> list[Day]:
    """One row per UTC day with sessions or submissions, oldest first."""
    by_day: dict[dt.date, list[Journey]] = {}
    for journey in journeys:
        by_day.setdefault(journey.started_at.astimezone(dt.UTC).date(), []).append(journey)
    days = []
    for day in sorted(set(by_day) | set(stored)):
        todays = by_day.get(day, [])
        outcomes = [j.outcome(now, ttl) for j in todays]
        durations = [
            (j.ended_at - j.started_at).total_seconds()
            for j in todays
            if j.reason == "completed" and j.ended_at is not None
        ]
        days.append(
            Day(
                day=day,
                sessions=len(todays),
                completed=outcomes.count("completed"),
                timed_out=outcomes.count("timed_out"),
                median_seconds_to_complete=(
                    round(statistics.median(durations), 1) if durations else None
                ),
                submissions=stored.get(day, 0),
                delivered=delivered.get(day, 0),
            )
        )
    return days


def summary_table(days: Sequence[Day], since: dt.datetime) -> str:
    header = [
        "day", "sessions", "completed", "rate", "timed out", "median s", "submitted", "delivered",
    ]  # fmt: skip
    rows = [header]
    for d in days:
        row = [
            d.day.isoformat(),
            str(d.sessions),
            str(d.completed),
            _percent(d.completed, d.sessions),
            str(d.timed_out),
            "-" if d.median_seconds_to_complete is None else f"{d.median_seconds_to_complete:g}",
            str(d.submissions),
            str(d.delivered),
        ]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"Daily summary since {since:%Y-%m-%d %H:%M} UTC"]
    for index, row in enumerate(rows):
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    if not days:
        lines.append("(no sessions in this period)")
    return "\n".join(lines)
