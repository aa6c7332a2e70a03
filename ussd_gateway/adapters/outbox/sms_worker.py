"""The SMS worker: claims due messages, sends them through the SDK in threads, records each.

Runs inside ``ussd-gateway worker`` next to the delivery worker, and inside ``serve`` on SQLite
(see ``sms.hook``). Sending is at-least-once only in one corner: a call that times out after the
API accepted it is retried (the API gives no idempotency key); everything else is exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.models import SMS_SENT
from ussd_gateway.adapters.outbox.delivery_worker import error_line, worker_id
from ussd_gateway.adapters.outbox.sms import ClaimedSms, Outcome, SendResult, SmsOutbox
from ussd_gateway.adapters.outbox.sms_sender import AtSender
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.domain.privacy import mask_phone

log = logging.getLogger(__name__)


class SmsWorker:
    """One loop; ``run()`` until ``stop()``; at most ``concurrency`` API calls at once."""

    def __init__(
        self,
        config: SmsConfig,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        sender: AtSender | None = None,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.outbox = SmsOutbox(sessionmaker)
        self.sender = sender or AtSender(config)
        self.name = name or worker_id()
        self.sent = 0
        self._rng = rng or random.Random()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: dict[asyncio.Task[None], ClaimedSms] = {}

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        log.info(
            "sms worker %s sending through %s%s",
            self.name,
            self.config.base_url or "Africa's Talking",
            " (sandbox)" if self.config.sandbox and not self.config.base_url else "",
        )
        if not self.config.api_key and not self.config.base_url:
            log.warning("AT_API_KEY is not set: every SMS will be refused and retried")
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                free = self.config.concurrency - len(self._tasks)
                claimed: list[ClaimedSms] = []
                if free > 0:
                    try:
                        limit = min(free, self.config.batch_size)
                        claimed = await self.outbox.claim(self.name, limit, self.config.lease)
                    except Exception as exc:  # database away: try again later
                        log.warning("sms worker cannot claim: %s", error_line(exc))
                        await self._sleep(min(5.0, self.config.poll_interval * 4))
                        continue
                for claim in claimed:
                    task = asyncio.create_task(self._send(claim))
                    self._tasks[task] = claim
                    task.add_done_callback(self._done)
                if claimed and len(self._tasks) < self.config.concurrency:
                    await asyncio.sleep(0)
                    continue
                await self._sleep(self.config.poll_interval)
        finally:
            await self._shutdown()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._wake.set()

    async def _send(self, claim: ClaimedSms) -> None:
        try:
            result = await self.sender.send(claim)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in parsing must not lose the message
            log.exception("sms sender raised")
            result = SendResult(Outcome.RETRY, error=error_line(exc))
        try:
            status = await self.outbox.record(
                claim, result, worker=self.name, policy=self.config.retry, rng=self._rng
            )
        except Exception as exc:  # cannot write: the lease runs out and it is tried again
            log.warning("sms worker cannot record %s: %s", claim.purpose, error_line(exc))
            return
        if status == SMS_SENT:
            self.sent += 1
        log.info(
            "sms %s to %s attempt %d → %s%s",
            claim.purpose,
            mask_phone(claim.phone),
            claim.attempt,
            status,
            f": {result.error}" if result.error else "",
        )

    async def _shutdown(self) -> None:
        """Let calls in flight finish (they cannot be cancelled in their thread anyway)."""
        if not self._tasks:
            return
        pending = set(self._tasks)
        _, still = await asyncio.wait(pending, timeout=self.config.timeout + 2)
        held = [self._tasks[t].id for t in still if t in self._tasks]
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.outbox.release(self.name, held)
