"""The hop path without HTTP, as a server builds it (``application.factory.open_gateway``: the
guard, the hop service, real Redis or the in-process store, real SQL), for the benchmarks that
run it in a loop (``profile_hops``)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from benchmarks.journey import JOURNEYS
from ussd_gateway.application.factory import open_gateway
from ussd_gateway.application.menus.reloading import load_registry
from ussd_gateway.config.settings import load_settings
from ussd_gateway.domain.ussd import UssdRequest
from ussd_gateway.ports.hops import HopHandler

CONFIG = Path(__file__).resolve().parent / "config" / "gateway.yaml"


@asynccontextmanager
async def hop_service(redis_url: str | None, database_url: str) -> AsyncIterator[HopHandler]:
    """The hop path on the benchmark config, its database migrated; closed on exit."""
    settings = load_settings(CONFIG, env={})
    settings = dataclasses.replace(settings, redis_url=redis_url, database_url=database_url)
    async with open_gateway(settings, load_registry(settings)) as gateway:
        yield gateway.hops


def hops_per_journey(journey: str) -> int:
    return len(JOURNEYS[journey][1])


async def walk(hops: HopHandler, journey: str, session_id: str, n: int) -> None:
    """One whole journey as session ``session_id`` of number ``n``, every reply checked."""
    code, steps = JOURNEYS[journey]
    entries: list[str] = []
    for entry, ends, marker in steps:
        if entry is not None:
            entries.append(entry)
        reply = await hops.handle(
            UssdRequest(
                provider="africastalking",
                session_id=session_id,
                service_code=code,
                phone=f"+2557{n % 10**8:08d}",
                network="64004",
                text="*".join(entries),
            )
        )
        assert reply.end == ends and marker in reply.text, reply
