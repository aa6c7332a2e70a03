"""``ussd-gateway report funnel|summary``: where citizens give up, and how each day went."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from typing import Any

from ussd_gateway.config.settings import load_settings


def register(commands: Any) -> None:
    report = commands.add_parser("report", help="funnel and daily summary from session events")
    kinds = report.add_subparsers(dest="report", required=True)
    funnel = kinds.add_parser("funnel", help="per screen: sessions that reached it, left there")
    funnel.add_argument("--service", required=True, help="service id, e.g. mrejesho")
    funnel.add_argument("--since", default="7d", help="7d, 24h, 30m, 2w or a date (default 7d)")
    funnel.add_argument("--json", action="store_true", help="print JSON instead of a table")
    funnel.add_argument(
        "--png", metavar="FILE", help="also draw a funnel chart to FILE (extra: [report])"
    )
    funnel.set_defaults(func=run_funnel)
    summary = kinds.add_parser("summary", help="per day: sessions, completion, submissions")
    summary.add_argument("--service", default=None, help="one service only (default: all)")
    summary.add_argument("--since", default="7d", help="7d, 24h, 30m, 2w or a date (default 7d)")
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    summary.set_defaults(func=run_summary)


def _since(value: str) -> tuple[dt.datetime, dt.datetime] | None:
    from ussd_gateway.application.reports import parse_since

    now = dt.datetime.now(dt.UTC)
    try:
        return parse_since(value, now), now
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return None


def run_funnel(args: argparse.Namespace) -> int:
    from ussd_gateway.adapters.db.engine import create_engine
    from ussd_gateway.application.menus.loading import load_definitions
    from ussd_gateway.application.reports import funnel, funnel_png, funnel_table, load_journeys
    from ussd_gateway.engine.definition import DefinitionError

    if args.png and not _can_draw():
        return 1
    settings = load_settings(args.config)
    period = _since(args.since)
    if period is None:
        return 2
    since, now = period
    try:
        definition = load_definitions(settings).get(args.service)
    except (DefinitionError, OSError):
        definition = None  # screens then follow the order citizens first reached them
    known = _known_services(settings)

    async def compute() -> Any:
        engine = create_engine(settings.database_url)
        try:
            return await load_journeys(engine, since=since, service=args.service)
        finally:
            await engine.dispose()

    journeys = asyncio.run(compute())
    if not journeys and _unknown(args.service, known):
        return 2
    report = funnel(
        journeys,
        service=args.service,
        since=since,
        now=now,
        ttl=settings.sessions.ttl,
        definition=definition,
    )
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(funnel_table(report))
    if args.png:
        funnel_png(report, args.png)
        print(f"funnel chart written to {args.png}", file=sys.stderr)
    return 0


def _can_draw() -> bool:
    """matplotlib is an extra: a web gateway does not need it, only this chart does."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(
            "report funnel --png needs matplotlib: pip install 'ussd-gateway[report]'",
            file=sys.stderr,
        )
        return False
    return True


def _known_services(settings: Any) -> set[str]:
    """Services and directories of the menu files, broken ones included (their past sessions
    are still worth a funnel); a service whose file is gone is known by its sessions."""
    from ussd_gateway.application.menus.loading import load_services
    from ussd_gateway.engine.definition import DefinitionError

    try:
        loaded = load_services(settings)
    except (DefinitionError, OSError):
        return set()
    return {*loaded.definitions, *loaded.disabled, *loaded.fallback}


def _unknown(service: str, known: set[str]) -> bool:
    """A typo would otherwise print an empty report and look like nobody called: say so."""
    if not known or service in known:
        return False
    print(f"unknown service {service!r}: choose one of {', '.join(sorted(known))}", file=sys.stderr)
    return True


def run_summary(args: argparse.Namespace) -> int:
    from ussd_gateway.adapters.db.engine import create_engine
    from ussd_gateway.application.reports import (
        calls,
        load_journeys,
        submissions_per_day,
        summary,
        summary_table,
    )

    settings = load_settings(args.config)
    period = _since(args.since)
    if period is None:
        return 2
    since, now = period

    async def compute() -> Any:
        engine = create_engine(settings.database_url)
        try:
            journeys = await load_journeys(engine, since=since, service=args.service)
            if args.service is None:  # each call once, not once per service it went through
                journeys = calls(journeys)
            stored, delivered = await submissions_per_day(engine, since=since, service=args.service)
        finally:
            await engine.dispose()
        return summary(
            journeys, now=now, ttl=settings.sessions.ttl, stored=stored, delivered=delivered
        )

    days = asyncio.run(compute())
    if args.service is not None and not days:
        if _unknown(args.service, _known_services(settings)):
            return 2
    if args.json:
        print(
            json.dumps({"since": since.isoformat(), "days": [d.as_json() for d in days]}, indent=2)
        )
    else:
        print(summary_table(days, since))
    return 0
