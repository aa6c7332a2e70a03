"""A hop forwarded to an institution's own USSD application, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass


class AppUnavailable(Exception):
    """The mounted application gave no usable screen in time (refused, timeout, 5xx, a reply
    that is neither ``CON`` nor ``END``): the citizen gets the ``unavailable`` hint."""


@dataclass(frozen=True, slots=True)
class AppHop:
    """One hop forwarded in Africa's Talking's format: ``text`` is cumulative, counted from
    the directory entry (empty on entering), as if the citizen had dialled the app itself."""

    url: str
    session_id: str
    phone: str
    service_code: str
    text: str
    timeout: float


@dataclass(frozen=True, slots=True)
class AppScreen:
    text: str
    end: bool
