"""Whether ``serve`` delivers by itself: on SQLite by default, on PostgreSQL only when asked."""

from __future__ import annotations

import asyncio

import pytest

from tests.forwarding.conftest import StandIn
from tests.support.phone import Phone
from tests.test_journeys import give_feedback
from ussd_gateway.http.keys import SUBMISSIONS
from ussd_gateway.http.outbox import is_sqlite


@pytest.mark.parametrize("worker", [None, True, False])
async def test_in_process_worker(gateway, database_url: str, stand_in: StandIn, worker):
    client = await gateway(
        database_url=database_url, worker=worker, env={"BACKEND_FEEDBACK_URL": stand_in.url}
    )
    reference = await give_feedback(Phone(client))
    expected = is_sqlite(database_url) if worker is None else worker
    for _ in range(40 if expected else 20):  # the shipped poll interval is 0.5 s
        if stand_in.received:
            break
        await asyncio.sleep(0.05)
    view = await client.app[SUBMISSIONS].get(reference)
    assert view is not None
    if expected:
        assert stand_in.keys() == [reference]
        for _ in range(40):
            view = await client.app[SUBMISSIONS].get(reference)
            if view and view.status == "delivered":
                break
            await asyncio.sleep(0.05)
        assert view is not None and view.status == "delivered"
    else:
        assert stand_in.received == [] and view.status == "pending"


def test_sqlite_is_recognised_however_written():
    assert is_sqlite("sqlite:///var/x.db") and is_sqlite("sqlite+aiosqlite:///x")
    assert not is_sqlite("postgresql://u@h/d") and not is_sqlite("postgres://u@h/d")
