"""What an aggregator's request means once its format is read, and what the gateway answers.

Plain values shared by every layer: providers' adapters produce and render them, the hop
service consumes and answers them; none of them knows a wire format.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field


class BadRequest(ValueError):
    """The aggregator's request is malformed; the reason goes back in a 400, on one line."""


@dataclass(frozen=True, slots=True)
class UssdRequest:
    provider: str
    session_id: str
    service_code: str
    phone: str
    network: str
    text: str
    cumulative: bool = True
    """True when ``text`` is every entry of the session joined with ``*`` (Africa's Talking)."""
    start: bool = False
    """The aggregator says this request opens the session (Hubtel Initiation, Beem initiate)."""
    marker: str = ""
    """The aggregator's id of this hop (Hubtel Sequence, Beem request_id, generic sequence): a
    newest-entry request carrying the marker of the last one is a retry, not a new entry."""
    echo: str = ""
    """What the aggregator wants back in the reply to this request (Nalo's ``USERID``,
    SouthPawsl's ``menuId``…), as its adapter wrote it; opaque to everyone else."""

    @property
    def session_key(self) -> str:
        """The key the session of this request is stored under: the aggregator's session id
        is unique only within its aggregator."""
        return f"{self.provider}:{self.session_id}"

    def dumps(self) -> str:
        """The request as JSON: a stalled hop is remembered this way, to be replayed."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def loads(cls, raw: str | bytes) -> UssdRequest | None:
        """A request ``dumps`` wrote, or None when ``raw`` is not one."""
        try:
            return cls(**json.loads(raw))
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class UssdReply:
    text: str
    end: bool
    replayed: bool = False
    """It answers a stalled request replayed in place of the one received (``SessionStore.stall``):
    once the citizen sees it, the stalled request is done with."""
    service: str = field(default="", compare=False)
    """The service whose screen this is (through a directory: the one the session is in), for
    the figures; empty when the hop service did not say. Not part of what the citizen sees."""


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """An aggregator's notice that a session is over (released, timed out, dropped)."""

    provider: str
    session_id: str
    reason: str
    """Why, in the aggregator's words where it gives any (``timeout``, ``Incomplete``, …)."""
    dropped: bool
    """True when the citizen did not choose to stop: the journey stays resumable."""
    phone: str = ""
    network: str = ""
    marker: str = ""
