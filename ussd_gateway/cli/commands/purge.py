"""``ussd-gateway purge``: clear personal data from submissions past their retention."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ussd_gateway.config.settings import load_settings


def register(commands: Any) -> None:
    purge = commands.add_parser(
        "purge", help="clear numbers and personal answers of old submissions"
    )
    purge.add_argument(
        "--older-than",
        default=None,
        help="age such as 365d, 12w or 36h (default: privacy.retention_days of gateway.yaml)",
    )
    purge.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    purge.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    from ussd_gateway.adapters.submissions.purge import parse_age

    settings = load_settings(args.config)
    config = settings.privacy
    try:
        age = (
            parse_age(args.older_than)
            if args.older_than
            else dt.timedelta(days=config.retention_days)
        )
    except ValueError as exc:
        print(f"--older-than: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_purge(settings.database_url, age, config.personal_keys, args.dry_run))


async def _purge(url: str, age: Any, keys: tuple[str, ...], dry_run: bool) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
    from ussd_gateway.adapters.db.migrate import upgrade
    from ussd_gateway.adapters.outbox.sms_purge import purge_sms_numbers
    from ussd_gateway.adapters.submissions.purge import purge
    from ussd_gateway.cli.audit_trail import record

    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        result = await purge(sessionmaker, older_than=age, personal_keys=keys, dry_run=dry_run)
        sms_numbers = await purge_sms_numbers(sessionmaker, cutoff=result.cutoff, dry_run=dry_run)
    except (OSError, SQLAlchemyError) as exc:
        print(f"cannot purge: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    if not dry_run:
        detail = (
            f"before {result.cutoff:%Y-%m-%d %H:%M} UTC: {result.purged} submissions, "
            f"{result.numbers} numbers, {result.answers} answers; {sms_numbers} SMS numbers"
        )
        await record(url, "purge", "*", "ok", detail=detail)
    verb = "would purge" if dry_run else "purged"
    print(
        f"submissions created before {result.cutoff:%Y-%m-%d %H:%M} UTC: {result.examined}; "
        f"{verb} {result.purged} ({result.numbers} numbers, {result.answers} personal answers)"
    )
    print(f"SMS sent before then: {verb} {sms_numbers} numbers")
    return 0
