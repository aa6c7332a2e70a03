"""The delivery worker: claims due submissions, delivers them concurrently, records each attempt.

Runs as ``ussd-gateway worker`` or inside ``serve`` (see ``forwarding.hook``). Delivery is
at-least-once: the reference is the idempotency key, so a backend absorbs a repeat after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.connectors.base import AttemptResult, Connector, Outcome
from ussd_gateway.adapters.connectors.registry import build_connectors
from ussd_gateway.adapters.db.models import utcnow
from ussd_gateway.adapters.outbox.ledger import Claim, DeliveryLedger
from ussd_gateway.config.backends import ForwardingConfig
from ussd_gateway.domain.privacy import mask_phone

log = logging.getLogger("ussd_gateway.worker")


def worker_id() -> str:
    """Host, process and a random suffix: unique even for two workers in one process."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class WorkerStats:
    delivered: int = 0
    failed: int = 0
    retried: int = 0
    dead: int = 0
    claimed: int = 0


class DeliveryWorker:
    """One worker loop. ``run()`` until ``stop()``; deliveries in flight are bounded."""

    def __init__(
        self,
        config: ForwardingConfig,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.ledger = DeliveryLedger(sessionmaker)
        self.name = name or worker_id()
        self.stats = WorkerStats()
        self._rng = rng or random.Random()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: dict[asyncio.Task[None], Claim] = {}
        self._client: aiohttp.ClientSession | None = None
        self._connectors: dict[str, Connector] = {}
        self._hurried: dict[str, float] = {}

    def stop(self) -> None:
        """Stop claiming; ``run`` then finishes or releases what it holds and returns."""
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """New work may be due: look now instead of at the next poll."""
        self._wake.set()

    async def open(self) -> None:
        """Build every connector now, so a configuration mistake stops start-up."""
        if self._client is not None:
            return
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        try:
            self._connectors = build_connectors(self.config, client=self._client)
        except BaseException:
            await self._client.close()
            self._client = None
            raise

    async def run(self) -> None:
        await self.open()
        log.info(
            "worker %s delivering to %s (concurrency %d, lease %.0fs)",
            self.name,
            ", ".join(sorted(self._connectors)) or "no backend",
            self.config.delivery.concurrency,
            self.config.lease,
        )
        await self._warn_about_unknown_backends()
        try:
            await self._loop(self._connectors)
        finally:
            await self._shutdown()
            for connector in self._connectors.values():
                with contextlib.suppress(Exception):
                    await connector.close()
            if self._client is not None:
                await self._client.close()
                self._client = None
        log.info(
            "worker %s stopped: %d delivered, %d retried, %d failed, %d dead",
            self.name,
            self.stats.delivered,
            self.stats.retried,
            self.stats.failed,
            self.stats.dead,
        )

    async def _warn_about_unknown_backends(self) -> None:
        """Submissions naming a backend missing from the configuration would wait forever."""
        try:
            waiting = await self.ledger.pending_by_backend()
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

    async def _loop(self, connectors: Mapping[str, Connector]) -> None:
        settings = self.config.delivery
        while not self._stopping.is_set():
            self._wake.clear()  # set again by a finished delivery or by wake()
            free = settings.concurrency - len(self._tasks)
            claimed: list[Claim] = []
            if free > 0 and connectors:
                try:
                    claimed = await self.ledger.claim(
                        self.name, min(free, settings.batch_size), self.config.lease, connectors
                    )
                except Exception as exc:  # database away: keep the loop, try again later
                    log.warning("worker %s cannot claim: %s", self.name, error_line(exc))
                    await self._sleep(min(5.0, settings.poll_interval * 4))
                    continue
            for claim in claimed:
                task = asyncio.create_task(self._deliver(connectors[claim.delivery.backend], claim))
                self._tasks[task] = claim
                task.add_done_callback(self._done)
            self.stats.claimed += len(claimed)
            if claimed and len(claimed) == min(free, settings.batch_size):
                await asyncio.sleep(0)  # more may be due: claim again at once if slots are free
                if len(self._tasks) < settings.concurrency:
                    continue
            await self._sleep(settings.poll_interval)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._wake.set()  # a slot is free

    async def _deliver(self, connector: Connector, claim: Claim) -> None:
        started = utcnow()
        try:
            result = await connector.deliver(claim.delivery)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a connector bug must not lose the submission
            log.exception("connector %s raised", connector.name)
            result = AttemptResult(Outcome.RETRY, error=error_line(exc))
        backend = self.config.backends[claim.delivery.backend]
        try:
            recorded = await self.ledger.record(
                claim,
                result,
                worker=self.name,
                started_at=started,
                policy=backend.retry,
                rng=self._rng,
            )
        except Exception as exc:  # cannot write: the lease runs out and it is retried
            reference = claim.delivery.reference
            log.warning("worker %s cannot record %s: %s", self.name, reference, error_line(exc))
            return
        if result.outcome is Outcome.DELIVERED and claim.attempt > 1:
            await self._backend_is_back(backend.name)
        counter = {"delivered": "delivered", "failed": "failed", "dead": "dead"}.get(
            recorded.status, "retried"
        )
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        log.info(
            "%s %s (%s) attempt %d → %s%s%s",
            claim.delivery.reference,
            backend.name,
            mask_phone(claim.delivery.phone),
            claim.attempt,
            recorded.status,
            f" [{result.status_code}]" if result.status_code else "",
            f": {result.error}" if result.error else "",
        )

    async def _backend_is_back(self, backend: str) -> None:
        """A retried delivery went through: the rest waiting for that backend need not wait
        out their backoff (at most once a second per backend, so a flapping one is not hammered).
        """
        loop = asyncio.get_running_loop()
        if loop.time() - self._hurried.get(backend, -1e9) < 1.0:
            return
        self._hurried[backend] = loop.time()
        try:
            hurried = await self.ledger.hurry(backend)
        except Exception as exc:
            log.warning("worker %s cannot reschedule %s: %s", self.name, backend, error_line(exc))
            return
        if hurried:
            log.info("%s is back: %d waiting submission(s) due now", backend, hurried)
            self.wake()

    async def _shutdown(self) -> None:
        """Let deliveries in flight finish within the grace period, then release the rest."""
        if not self._tasks:
            return
        pending = set(self._tasks)
        _, still = await asyncio.wait(pending, timeout=self.config.delivery.shutdown_grace)
        held = [self._tasks[task].id for task in still if task in self._tasks]
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)
        if held:
            try:
                await self.ledger.release(self.name, held)
                log.info("worker %s released %d lease(s)", self.name, len(held))
            except Exception as exc:
                log.warning("worker %s could not release leases (they expire): %s", self.name, exc)


def error_line(exc: BaseException) -> str:
    """An exception as one short line for logs and ``last_error`` (the SMS worker's too)."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
