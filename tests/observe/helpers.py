"""Scraping /metrics and seeding session events for the observability tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from tests.conftest import shipped_document
from tests.support.databases import Database
from ussd_gateway.adapters.db.models import SessionEvent

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def uncached(**observability: Any) -> dict[str, Any]:
    """The shipped ``observability`` section with database figures never cached (each scrape
    reads), for ``sections=``."""
    section = {**shipped_document()["observability"], "metrics_cache": 0, **observability}
    return {"observability": section}


async def scrape(client: TestClient) -> tuple[Samples, str]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, text


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def journey(
    sid: str,
    screens: Iterable[str],
    *,
    start: dt.datetime,
    step: float = 10.0,
    end: str | None = None,
    service: str = "mrejesho",
) -> list[dict[str, Any]]:
    """Events of one seeded session: start, one screen every ``step`` seconds, maybe an end."""
    at = start
    rows: list[dict[str, Any]] = [
        {"session_id": sid, "service": service, "provider": "africastalking", "kind": "start",
         "screen": None, "reason": None, "at": at}
    ]  # fmt: skip
    last = None
    for screen in screens:
        rows.append(
            {"session_id": sid, "service": service, "provider": "africastalking",
             "kind": "screen", "screen": screen, "reason": None, "at": at}
        )  # fmt: skip
        last = screen
        at += dt.timedelta(seconds=step)
    if end is not None:
        rows.append(
            {"session_id": sid, "service": service, "provider": "africastalking", "kind": "end",
             "screen": last, "reason": end, "at": at - dt.timedelta(seconds=step)}
        )  # fmt: skip
    return rows


async def seed(db: Database, rows: list[dict[str, Any]]) -> None:
    async with db.sessionmaker() as session, session.begin():
        await session.execute(insert(SessionEvent), rows)
