"""``ussd-gateway audit``: who reloaded, retried, purged or changed a status, and when.

Newest first; an aligned table for people, ``--json`` for scripts. Command-line actions are
recorded as ``cli:<os user>``, admin endpoints as ``admin`` or the operator's name, status
reports as ``backend:<name>``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from typing import Any

from ussd_gateway.cli.database import on_database
from ussd_gateway.cli.tables import table
from ussd_gateway.config.settings import load_settings


def register(commands: Any) -> None:
    parser = commands.add_parser("audit", help="the audit log of operators' actions")
    parser.add_argument(
        "--since", help="an age such as 36h, 7d or 2w, or an ISO 8601 time (default: all)"
    )
    parser.add_argument(
        "--owner", help="who acted: admin, an operator's name, cli:<user>, backend:<name>"
    )
    parser.add_argument("--action", help="reload, retry, purge or status")
    parser.add_argument("--service", help="a service id, e.g. mrejesho")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="JSON instead of a table")
    parser.set_defaults(func=run)


def parse_since(value: str, now: dt.datetime | None = None) -> dt.datetime:
    """``36h``/``7d``/``2w`` before ``now``, or an ISO 8601 time (UTC when it names no zone)."""
    from ussd_gateway.adapters.submissions.purge import parse_age

    try:
        return (now or dt.datetime.now(dt.UTC)) - parse_age(value)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is neither an age (36h, 7d, 2w) nor an ISO time") from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def run(args: argparse.Namespace) -> int:
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return 2
    if args.limit < 1:
        print("--limit: must be at least 1", file=sys.stderr)
        return 2
    rows = asyncio.run(_find(load_settings(args.config).database_url, args, since))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no audit entries match", file=sys.stderr)
        return 0
    headers = ("AT", "WHO", "ACTION", "TARGET", "SERVICE", "RESULT", "DETAIL")
    print(
        table(
            headers,
            [
                (
                    (r["at"] or "")[:19].replace("T", " "),
                    r["actor"],
                    r["action"],
                    r["target"],
                    r["service"] or "-",
                    r["result"],
                    r["detail"] or "-",
                )
                for r in rows
            ],
        )
    )
    return 0


async def _find(url: str, args: argparse.Namespace, since: dt.datetime | None) -> list[Any]:
    from ussd_gateway.adapters.audit import AuditLog, as_row

    async def find(sessions: Any) -> list[Any]:
        found = await AuditLog(sessions).find(
            since=since,
            actor=args.owner,
            action=args.action,
            service=args.service,
            limit=args.limit,
        )
        return [as_row(r) for r in found]

    return await on_database(url, find)
