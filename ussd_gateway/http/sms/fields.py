"""Reading Africa's Talking's SMS callbacks (form fields) into checked values, or BadRequest."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ussd_gateway.domain.phones import international
from ussd_gateway.domain.ussd import BadRequest

PHONE = re.compile(r"^\+?\d{6,15}$")
DELIVERY_STATUSES = frozenset({"Sent", "Submitted", "Buffered", "Rejected", "Success", "Failed"})


def required(form: Mapping[str, str], name: str, limit: int) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise BadRequest(f"{name} is missing")
    if len(value) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters")
    return value


def optional(form: Mapping[str, str], name: str, limit: int) -> str | None:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters")
    return value or None


def phone(form: Mapping[str, str], name: str, country: str) -> str:
    """The number as ``+<digits>``, a local one (``0712…``) taken in ``country``: opt-outs and
    limits compare numbers, so one citizen must have one spelling."""
    value = required(form, name, 20).replace(" ", "")
    if not PHONE.match(value):
        raise BadRequest(f"{name} is not a phone number")
    return international(value, country)
