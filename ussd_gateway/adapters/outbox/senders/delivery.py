"""The submissions outbox's sender: each submission goes to its backend's connector.

Delivery is at-least-once: the reference is the idempotency key, so a backend absorbs a repeat
after a crash. Every attempt is kept in ``delivery_attempts`` for the operators.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ussd_gateway.adapters.connectors.base import AttemptResult, Connector, Delivery
from ussd_gateway.adapters.connectors.base import Outcome as Delivered
from ussd_gateway.adapters.connectors.registry import build_connectors
from ussd_gateway.adapters.db.models import DELIVERED, DeliveryAttempt, Submission
from ussd_gateway.adapters.observe.metrics import DELIVERIES_GIVEN_UP
from ussd_gateway.adapters.outbox.down_notices import DownNotices
from ussd_gateway.adapters.outbox.queue import Outcome, Queue, Table
from ussd_gateway.adapters.outbox.undelivered import Undelivered
from ussd_gateway.adapters.outbox.worker import Pace, Sender, error_line
from ussd_gateway.config.backends import ForwardingConfig
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.domain.privacy import mask_phone

log = logging.getLogger("ussd_gateway.worker")

SUBMISSIONS = Table(Submission, done=DELIVERED)

OUTCOMES = {
    Delivered.DELIVERED: Outcome.DONE,
    Delivered.RETRY: Outcome.RETRY,
    Delivered.FAILED: Outcome.FAILED,
}

_COLUMNS = (
    Submission.id,
    Submission.reference,
    Submission.service,
    Submission.backend,
    Submission.channel,
    Submission.language,
    Submission.kind,
    Submission.data,
    Submission.phone,
    Submission.created_at,
    Submission.requeued_at,
    Submission.attempts,
)


@dataclass(frozen=True, slots=True)
class Claim:
    """A submission this worker holds until its lease runs out."""

    id: int
    delivery: Delivery
    age_from: dt.datetime
    """Submitted, or requeued by an operator: when the give-up age starts counting."""
    tries: int
    """This try's number since submitted or requeued: what the retry budget counts."""

    @property
    def attempt(self) -> int:
        return self.tries


class DeliverySender(Sender[Claim, AttemptResult]):
    """Delivers through one connector per configured backend, sharing one HTTP client."""

    kind = "delivery"
    log = log
    table = SUBMISSIONS

    def __init__(self, config: ForwardingConfig, sms: SmsConfig | None = None) -> None:
        """``sms``: the texts of the SMS telling a citizen their submission was given up on
        (the defaults without it: the citizen is told all the same)."""
        self.config = config
        self.undelivered = Undelivered(sms or SmsConfig())
        grace = config.delivery.shutdown_grace
        self.pace = Pace.of(config.delivery, lease=config.lease, shutdown_grace=grace)
        self._client: aiohttp.ClientSession | None = None
        self._connectors: dict[str, Connector] = {}
        self._hurried: dict[str, float] = {}
        self.notices = DownNotices()
        self._wake: Callable[[], None] = lambda: None

    def label(self, worker: str) -> str:
        return f"worker {worker}"

    async def open(self, wake: Callable[[], None]) -> None:
        """Build every connector now, so a configuration mistake stops start-up."""
        self._wake = wake
        if self._client is not None:
            return
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        try:
            self._connectors = build_connectors(self.config, client=self._client)
        except BaseException:
            await self._client.close()
            self._client = None
            raise

    async def close(self) -> None:
        for connector in self._connectors.values():
            with contextlib.suppress(Exception):
                await connector.close()
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def started(self, queue: Queue, worker: str) -> None:
        log.info(
            "worker %s delivering to %s (concurrency %d, lease %.0fs)",
            worker,
            ", ".join(sorted(self._connectors)) or "no backend",
            self.pace.concurrency,
            self.pace.lease,
        )
        await self._warn_about_unknown_backends(queue)

    def stopped(self, worker: str, stats: Counter[str]) -> None:
        log.info(
            "worker %s stopped: %d delivered, %d retried, %d failed, %d dead",
            worker,
            stats[SUBMISSIONS.done],
            stats[SUBMISSIONS.pending],
            stats[SUBMISSIONS.failed],
            stats[SUBMISSIONS.dead],
        )

    async def _warn_about_unknown_backends(self, queue: Queue) -> None:
        """Submissions naming a backend missing from the configuration would wait forever."""
        try:
            waiting = await queue.waiting_by(Submission.backend)
        except Exception:
            return
        for backend, count in sorted(waiting.items()):
            if backend not in self._connectors:
                log.warning(
                    "%d pending submission(s) for backend %r, which is not configured: "
                    "add it under backends: in the configuration",
                    count,
                    backend,
                )

    async def claim(self, queue: Queue, worker: str, limit: int) -> Sequence[Claim]:
        if not self._connectors:
            return ()
        configured = (Submission.backend.in_(list(self._connectors)),)
        rows = await queue.claim(worker, limit, self.pace.lease, _COLUMNS, configured)
        earlier = await _attempts_before_requeue(queue, rows)
        return [
            Claim(
                id=row.id,
                age_from=row.requeued_at or row.created_at,
                tries=row.attempts,
                delivery=Delivery(
                    reference=row.reference,
                    service=row.service,
                    backend=row.backend,
                    channel=row.channel,
                    language=row.language,
                    kind=row.kind,
                    data=row.data or {},
                    phone=row.phone,
                    created_at=row.created_at.isoformat(),
                    attempt=earlier.get(row.id, 0) + row.attempts,
                ),
            )
            for row in rows
        ]

    async def send(self, item: Claim) -> AttemptResult:
        return await self._connectors[item.delivery.backend].deliver(item.delivery)

    def raised(self, item: Claim, exc: Exception) -> AttemptResult:
        log.exception("connector %s raised", self._connectors[item.delivery.backend].name)
        return AttemptResult(Delivered.RETRY, error=error_line(exc))

    async def record(
        self, queue: Queue, item: Claim, result: AttemptResult, worker: str, started: dt.datetime
    ) -> str:
        backend = self.config.backends[item.delivery.backend]
        now = queue.now()
        if result.outcome is Delivered.DELIVERED:
            # a backend's status report may have overtaken us: the queue keeps it
            values = {"delivered_at": now, "remote_id": result.remote_id, "last_error": None}
        else:
            values = {"last_error": result.error}
        attempt = insert(DeliveryAttempt).values(
            submission_id=item.id,
            reference=item.delivery.reference,
            attempt=item.delivery.attempt,
            started_at=started,
            status_code=result.status_code,
            outcome=result.outcome.value,
            error=result.error,
            latency_ms=float(result.latency_ms),
            worker=worker,
        )
        given_up: list[str] = []

        async def finished(session: AsyncSession) -> None:
            ended = await self.undelivered.record_in(session, item.id)
            if ended is not None:
                given_up.append(ended)

        status = await queue.record(
            item,
            OUTCOMES[result.outcome],
            worker=worker,
            now=now,
            policy=backend.retry,
            values=values,
            retry_after=result.retry_after,
            before=(attempt,),
            finished=None if result.outcome is Delivered.DELIVERED else finished,
        )
        for ended in given_up:  # counted once committed
            DELIVERIES_GIVEN_UP.labels(backend.name, ended).inc()
        if result.outcome is Delivered.DELIVERED and item.attempt > 1:
            await self._backend_is_back(queue, backend.name, worker)
        return status

    async def _backend_is_back(self, queue: Queue, backend: str, worker: str) -> None:
        """A retried delivery went through: the rest waiting for that backend need not wait
        out their backoff (at most once a second per backend, so a flapping one is not hammered).
        """
        loop = asyncio.get_running_loop()
        if loop.time() - self._hurried.get(backend, -1e9) < 1.0:
            return
        self._hurried[backend] = loop.time()
        try:
            hurried = await queue.hurry(Submission.backend == backend)
        except Exception as exc:
            log.warning("worker %s cannot reschedule %s: %s", worker, backend, error_line(exc))
            return
        if hurried:
            log.info("%s is back: %d waiting submission(s) due now", backend, hurried)
            self._wake()

    def key(self, item: Claim) -> str:
        return item.delivery.reference

    def report(self, item: Claim, result: AttemptResult, status: str) -> None:
        backend = item.delivery.backend
        if result.outcome is Delivered.DELIVERED:
            if (back := self.notices.delivered(backend)) is not None:
                log.info(back)
        elif result.outcome is Delivered.RETRY:
            quiet = self.notices.is_down(backend)
            if (notice := self.notices.failed(backend, result.error or status)) is not None:
                log.warning(notice)
            if quiet:  # the notice above, or the last one, already says it
                log.debug(
                    "%s %s attempt %d → %s: %s",
                    item.delivery.reference,
                    backend,
                    item.delivery.attempt,
                    status,
                    result.error,
                )
                return
        log.info(
            "%s %s (%s) attempt %d → %s%s%s",
            item.delivery.reference,
            item.delivery.backend,
            mask_phone(item.delivery.phone),
            item.delivery.attempt,
            status,
            f" [{result.status_code}]" if result.status_code else "",
            f": {result.error}" if result.error else "",
        )


async def _attempts_before_requeue(queue: Queue, rows: Sequence[Any]) -> dict[int, int]:
    """Attempts recorded before an operator's requeue reset the budget, per requeued row: an
    attempt keeps numbering on (operators and backends see 1, 2, 3, not 1, 1), while the
    retry budget starts again. Rows never requeued need no query: their count is the budget's.
    """
    requeued = {row.id: row.attempts for row in rows if row.requeued_at is not None}
    if not requeued:
        return {}
    query = (
        select(DeliveryAttempt.submission_id, func.count())
        .where(DeliveryAttempt.submission_id.in_(list(requeued)))
        .group_by(DeliveryAttempt.submission_id)
    )
    async with queue.sessionmaker() as session:
        counted = (await session.execute(query)).all()
    # the count includes this budget's earlier tries (row.attempts - 1 of them)
    return {sid: max(0, n - (requeued[sid] - 1)) for sid, n in counted}
