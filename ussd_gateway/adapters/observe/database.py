"""Figures read from the database when Prometheus scrapes: submissions, outbox, lost sessions.

Counted by the database rather than by each process, so they are right whatever process
answers and survive restarts. One cheap grouped query per table, cached for ``cache_seconds`` so
frequent scrapes (or several Prometheus servers) do not load the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ussd_gateway.adapters.db.models import SessionEvent, SmsMessage, Submission
from ussd_gateway.adapters.observe.metrics import DELIVERY_BUCKETS, DEPENDENCY_ERRORS

log = logging.getLogger(__name__)

OUTBOX_STATUSES: tuple[str, ...] = ("pending",)
"""Statuses of submissions still waiting to reach their backend: ``failed`` (refused by the
backend) and ``dead`` (given up) wait for an operator, not for the worker."""

TIMED_OUT_WINDOW = dt.timedelta(days=1)
"""How far back the timed-out gauge looks."""


@dataclass
class Snapshot:
    by_status: dict[str, int] = field(default_factory=dict)
    outbox: int = 0
    oldest_pending_age: float = 0.0
    delivery: tuple[list[int], int, float] | None = None
    """(cumulative count per bucket, count, sum) of delivery latency; None without the column."""
    timed_out: dict[tuple[str, str], int] = field(default_factory=dict)
    sms_by_status: dict[str, int] = field(default_factory=dict)
    ok: bool = False


class DatabaseFigures(Collector):
    """A Prometheus collector over a snapshot that ``refresh`` renews at most every few seconds."""

    def __init__(self, engine: AsyncEngine, *, ttl: float, cache_seconds: float = 5.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._cache_seconds = cache_seconds
        self._snapshot = Snapshot()
        self._taken = float("-inf")

    async def refresh(self) -> None:
        if time.monotonic() - self._taken < self._cache_seconds:
            return
        try:
            self._snapshot = await self._read()
        except Exception as exc:
            DEPENDENCY_ERRORS.labels("database").inc()
            log.warning("metrics: database figures unavailable: %s", type(exc).__name__)
            self._snapshot = Snapshot()
        self._taken = time.monotonic()

    async def _read(self) -> Snapshot:
        now = dt.datetime.now(dt.UTC)
        snapshot = Snapshot(ok=True)
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(Submission.status, func.count(), func.min(Submission.created_at)).group_by(
                    Submission.status
                )
            )
            oldest: dt.datetime | None = None
            for status, count, first in rows:
                snapshot.by_status[status] = count
                if status in OUTBOX_STATUSES:
                    snapshot.outbox += count
                    first = _aware(first)
                    oldest = first if oldest is None or first < oldest else oldest
            if oldest is not None:
                snapshot.oldest_pending_age = max(0.0, (now - oldest).total_seconds())
            snapshot.delivery = await self._delivery(connection)
            snapshot.timed_out = await self._timed_out(connection, now)
            sms = select(SmsMessage.status, func.count()).group_by(SmsMessage.status)
            snapshot.sms_by_status = dict((await connection.execute(sms)).all())  # type: ignore[arg-type]
        return snapshot

    async def _delivery(self, connection: AsyncConnection) -> tuple[list[int], int, float]:
        """Histogram of ``delivered_at - created_at`` over every delivered submission."""
        if connection.dialect.name == "sqlite":
            seconds = literal_column("(julianday(delivered_at) - julianday(created_at)) * 86400.0")
        else:
            seconds = literal_column("extract(epoch from (delivered_at - created_at))")
        buckets = [
            func.coalesce(func.sum(case((seconds <= bound, 1), else_=0)), 0)
            for bound in DELIVERY_BUCKETS
        ]
        query = (
            select(func.count(), func.coalesce(func.sum(seconds), 0), *buckets)
            .where(Submission.delivered_at.is_not(None))
            .select_from(Submission.__table__)
        )
        row = (await connection.execute(query)).one()
        count, total, *cumulative = row
        return [int(c) for c in cumulative], int(count), float(total)

    async def _timed_out(
        self, connection: AsyncConnection, now: dt.datetime
    ) -> dict[tuple[str, str], int]:
        """Sessions of the last day with no end event, idle (anywhere) longer than the TTL.

        Per session and service: a session through a directory is a visit to each (the
        directory's ends when the service chosen there ends; a service left for the directory
        ends then), so each times out where it was left; a visit is idle from the session's
        last event, so a directory is not counted while its citizen is busy in a service."""
        ev = SessionEvent
        recent = ev.at >= now - TIMED_OUT_WINDOW
        visits = (
            select(
                ev.session_id.label("session_id"),
                ev.service.label("service"),
                func.max(ev.provider).label("provider"),
                func.sum(case((ev.kind == "end", 1), else_=0)).label("ends"),
                func.sum(case((ev.kind == "start", 1), else_=0)).label("starts"),
            )
            .where(recent)
            .group_by(ev.session_id, ev.service)
            .subquery()
        )
        active = (
            select(ev.session_id.label("session_id"), func.max(ev.at).label("last"))
            .where(recent)
            .group_by(ev.session_id)
            .subquery()
        )
        cutoff = now - dt.timedelta(seconds=self._ttl)
        query = (
            select(visits.c.service, visits.c.provider, func.count())
            .join(active, active.c.session_id == visits.c.session_id)
            .where(visits.c.ends == 0, visits.c.starts > 0, active.c.last < cutoff)
            .group_by(visits.c.service, visits.c.provider)
        )
        return {(s, p): n for s, p, n in await connection.execute(query)}

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        up = GaugeMetricFamily(
            "ussd_database_figures_up", "1 when the last read of database figures succeeded."
        )
        up.add_metric([], 1.0 if snap.ok else 0.0)
        yield up
        submissions = GaugeMetricFamily(
            "ussd_submissions", "Submissions stored, by delivery status.", labels=["status"]
        )
        for status, count in sorted(snap.by_status.items()):
            submissions.add_metric([status], count)
        yield submissions
        outbox = GaugeMetricFamily(
            "ussd_outbox_depth", "Submissions waiting to reach their backend (pending or retried)."
        )
        outbox.add_metric([], snap.outbox)
        yield outbox
        age = GaugeMetricFamily(
            "ussd_outbox_oldest_pending_age_seconds",
            "Age of the oldest submission still waiting for delivery (0 when none waits).",
        )
        age.add_metric([], snap.oldest_pending_age)
        yield age
        timed_out = GaugeMetricFamily(
            "ussd_sessions_timed_out_last_day",
            "Sessions of the last 24 h that stopped without an end screen and were idle past "
            "the session TTL (dropped calls, citizens who gave up).",
            labels=["service", "provider"],
        )
        for (service, provider), count in sorted(snap.timed_out.items()):
            timed_out.add_metric([service, provider], count)
        yield timed_out
        sms = GaugeMetricFamily(
            "ussd_sms_messages",
            "SMS in the outbox, by status (pending: waiting to be sent or retried).",
            labels=["status"],
        )
        for status, count in sorted(snap.sms_by_status.items()):
            sms.add_metric([status], count)
        yield sms
        if snap.delivery is not None:
            cumulative, count, total = snap.delivery
            delivery = HistogramMetricFamily(
                "ussd_submission_delivery_seconds",
                "Time from a submission being stored to its delivery to the backend.",
            )
            points = [(str(float(b)), c) for b, c in zip(DELIVERY_BUCKETS, cumulative, strict=True)]
            delivery.add_metric([], [*points, ("+Inf", count)], sum_value=total)
            yield delivery


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
