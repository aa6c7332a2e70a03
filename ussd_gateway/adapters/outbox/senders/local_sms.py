"""Keeping SMS in the local outbox instead of sending them: the embedded default.

Without an Africa's Talking key (``AT_API_KEY``) or a stand-in (``AT_API_BASE_URL``) there is
nobody to send to, and calling the real sandbox would make a fresh machine reach the internet
and log a failure every few seconds. Each message is instead marked sent with the provider
status ``kept locally``, once, as a real send would be; ``ussd-gateway sms list`` shows it.
"""

from __future__ import annotations

from ussd_gateway.adapters.outbox.queue import Outcome
from ussd_gateway.adapters.outbox.senders.at_sdk import ClaimedSms, SendResult
from ussd_gateway.config.sms import SmsConfig
from ussd_gateway.domain.sms_text import fit, segments

KEPT_LOCALLY = "kept locally"
"""The provider status of a message no provider saw."""


class LocalOutbox:
    """The SMS API's stand-in that sends nothing: the message stays readable in the outbox."""

    def __init__(self, config: SmsConfig) -> None:
        self.config = config

    async def send(self, message: ClaimedSms) -> SendResult:
        text = fit(message.text, self.config.max_segments)
        return SendResult(Outcome.DONE, provider_status=KEPT_LOCALLY, segments=segments(text))
