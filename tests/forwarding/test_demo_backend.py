"""The demo backend with the real gateway: a submission travels end to end and back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from tests.support.phone import Phone
from tests.test_journeys import give_feedback
from ussd_gateway.http.demo_backend import STATE, create_demo_backend


async def test_submission_travels_to_the_demo_backend_and_its_status_comes_back(
    gateway, aiohttp_server: Callable[..., Any]
):
    demo_app = create_demo_backend(token="demo-token")
    demo: TestServer = await aiohttp_server(demo_app)
    client: TestClient = await gateway(
        worker=True,  # as `serve` on SQLite
        env={
            "BACKEND_FEEDBACK_URL": str(demo.make_url("/feedback")),
            "BACKEND_FEEDBACK_TOKEN": "demo-token",
        },
    )
    demo_app[STATE].gateway = str(client.make_url("/")).rstrip("/")
    phone = Phone(client)
    reference = await give_feedback(phone)

    async with ClientSession() as http:
        for _ in range(100):
            async with http.get(demo.make_url("/stats")) as reply:
                stats = await reply.json()
            if stats["received"]:
                break
            await asyncio.sleep(0.05)
        assert stats == {"received": 1, "duplicates": 0, "cases": 1}
        async with http.get(demo.make_url("/cases")) as reply:
            assert await reply.json() == [
                {"case_number": "CASE-000001", "reference": reference, "status": "received"}
            ]

        # the same key again is absorbed: same case number, counted as a duplicate
        body = b'{"reference": "%s"}' % reference.encode()
        headers = {"Authorization": "Bearer demo-token", "Idempotency-Key": reference}
        async with http.post(demo.make_url("/feedback"), data=body, headers=headers) as reply:
            assert reply.status == 200
            assert (await reply.json())["case_number"] == "CASE-000001"
        async with http.post(
            demo.make_url("/feedback"), data=body, headers={"Idempotency-Key": "x"}
        ) as reply:
            assert reply.status == 401
        async with http.get(demo.make_url("/stats")) as reply:
            assert await reply.json() == {"received": 1, "duplicates": 1, "cases": 1}

        update = {"status": "resolved", "note": {"sw": "Imekamilika", "en": "Completed"}}
        async with http.post(demo.make_url("/cases/CASE-000001/status"), json=update) as reply:
            assert reply.status == 200, await reply.text()

    await phone.dial()
    await phone.send("2")
    assert "Imepatiwa ufumbuzi\nImekamilika" in await phone.send(reference)
