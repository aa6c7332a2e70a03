"""``ussd-gateway submissions list|show|retry``: what operators need to follow deliveries.

Aligned tables for people, ``--json`` for scripts. Phone numbers are always masked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ussd_gateway.application.submission_views import attempt_row, summary, who
from ussd_gateway.cli.database import on_database
from ussd_gateway.cli.tables import table, when
from ussd_gateway.config.settings import load_settings

T = TypeVar("T")

LIST_HEADERS = (
    "REFERENCE",
    "SERVICE",
    "BACKEND",
    "STATUS",
    "TRIES",
    "PHONE",
    "CREATED",
    "LAST ERROR",
)


def register(commands: Any) -> None:
    parser = commands.add_parser("submissions", help="list, inspect and retry submissions")
    actions = parser.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="newest first")
    listing.add_argument(
        "--status", help="pending, delivered, failed, dead, or a backend's: resolved, …"
    )
    listing.add_argument("--service", help="a service id, e.g. mrejesho")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    listing.set_defaults(func=run_list)

    show = actions.add_parser("show", help="one submission and its delivery attempts")
    show.add_argument("reference")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)

    retry = actions.add_parser("retry", help="deliver again now (failed or dead ones)")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("reference", nargs="?")
    which.add_argument("--dead", action="store_true", help="every dead submission")
    retry.add_argument("--json", action="store_true")
    retry.set_defaults(func=run_retry)


def _with_ledger(args: argparse.Namespace, action: Callable[[Any], Awaitable[T]]) -> T:
    from ussd_gateway.adapters.outbox.ledger import DeliveryLedger

    settings = load_settings(args.config)
    return asyncio.run(
        on_database(settings.database_url, lambda sessions: action(DeliveryLedger(sessions)))
    )


def _short(text: str | None, width: int = 48) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def run_list(args: argparse.Namespace) -> int:
    from ussd_gateway.adapters.db.models import SUBMISSION_STATUSES

    if args.status is not None and args.status not in SUBMISSION_STATUSES:
        print(
            f"unknown status {args.status!r}: choose one of {', '.join(SUBMISSION_STATUSES)}",
            file=sys.stderr,
        )
        return 2
    rows = _with_ledger(
        args, lambda ledger: ledger.find(status=args.status, service=args.service, limit=args.limit)
    )
    if args.json:
        _print_json([summary(s) for s in rows])
        return 0
    if not rows:
        print("no submissions match", file=sys.stderr)
        return 0
    print(
        table(
            LIST_HEADERS,
            [
                (
                    s.reference,
                    s.service,
                    s.backend,
                    s.status,
                    s.attempts,
                    who(s),
                    when(s.created_at),
                    _short(s.last_error),
                )
                for s in rows
            ],
        )
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    found = _with_ledger(args, lambda ledger: ledger.show(args.reference))
    if found is None:
        print(f"no submission {args.reference}", file=sys.stderr)
        return 1
    submission, attempts = found
    if args.json:
        _print_json({**summary(submission), "history": [attempt_row(a) for a in attempts]})
        return 0
    details = summary(submission)
    note = details.pop("status_note")
    if isinstance(note, dict):
        note = "; ".join(f"{lang}: {text}" for lang, text in note.items())
    details["status_note"] = note
    print(table(("FIELD", "VALUE"), [(k, "-" if v is None else v) for k, v in details.items()]))
    print()
    if not attempts:
        print("no delivery attempt yet")
        return 0
    print(
        table(
            ("#", "STARTED", "CODE", "OUTCOME", "MS", "WORKER", "ERROR"),
            [
                (
                    a.attempt,
                    when(a.started_at),
                    a.status_code or "-",
                    a.outcome,
                    f"{a.latency_ms:.0f}",
                    a.worker,
                    _short(a.error, 60),
                )
                for a in attempts
            ],
        )
    )
    return 0


def run_retry(args: argparse.Namespace) -> int:
    from ussd_gateway.cli.audit_trail import record

    async def requeue(ledger: Any) -> tuple[list[str], str | None]:
        references = await ledger.requeue(reference=args.reference, dead=args.dead)
        if references or not args.reference:
            return references, None
        found = await ledger.show(args.reference)  # why not: say what it is
        return references, found[0].status if found else None

    references, status = _with_ledger(args, requeue)
    target = args.reference.upper() if args.reference else "dead"
    result = "ok" if references else "not_retryable" if args.reference else "none"
    detail = ", ".join(references) or None
    asyncio.run(
        record(load_settings(args.config).database_url, "retry", target, result, detail=detail)
    )
    if args.json:
        _print_json({"requeued": references})
    elif references:
        print(f"requeued {len(references)}: {', '.join(references)}")
    if not references and args.reference:
        if status is None:
            print(f"no submission {args.reference}", file=sys.stderr)
        else:
            print(f"{target} is {status}: nothing to retry", file=sys.stderr)
        return 1
    if not references and not args.json:
        print("nothing to retry")
    return 0
