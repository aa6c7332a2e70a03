"""What every aggregator adapter produces and consumes; adapters know nothing of menus."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True, slots=True)
class UssdReply:
    text: str
    end: bool
