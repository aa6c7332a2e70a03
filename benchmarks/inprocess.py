"""The hop service without HTTP, on real Redis (or the in-process store) and SQL, for the
benchmarks that run ``HopService.handle`` in a loop (``profile_hops``, ``single_trip``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from benchmarks.journey import JOURNEYS
from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
from ussd_gateway.adapters.db.migrate import upgrade
from ussd_gateway.adapters.sessions import create_store
from ussd_gateway.adapters.submissions.store import SubmissionStore
from ussd_gateway.application.hops import HopService
from ussd_gateway.application.menus.loading import load_definitions
from ussd_gateway.application.menus.routing import ServiceRouter
from ussd_gateway.config.settings import load_settings
from ussd_gateway.domain.ussd import UssdRequest
from ussd_gateway.engine.runner import Engine

CONFIG = Path(__file__).resolve().parent / "config" / "gateway.yaml"


@asynccontextmanager
async def hop_service(
    redis_url: str | None, database_url: str, **store_options: Any
) -> AsyncIterator[HopService]:
    """A HopService on the benchmark config, its database migrated; closed on exit."""
    settings = load_settings(CONFIG, env={})
    store = await create_store(redis_url, ttl=180, resume_window=300, **store_options)
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        yield HopService(
            engine=Engine(ports=SubmissionStore(sessionmaker=create_sessionmaker(engine))),
            store=store,
            router=ServiceRouter(settings.service_codes, load_definitions(settings)),
            settings=settings,
        )
    finally:
        await store.close()
        await engine.dispose()


def hops_per_journey(journey: str) -> int:
    return len(JOURNEYS[journey][1])


async def walk(hops: HopService, journey: str, session_id: str, n: int) -> None:
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
