"""``ussd-gateway sms list``: the SMS outbox, newest first.

On the embedded default (no ``AT_API_KEY``) this is where receipts and replies end up, marked
``kept locally``; with an account it shows what went out and what the provider said.
Numbers are masked: the text is what the citizen was sent, the number is theirs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from ussd_gateway.application.submission_views import iso
from ussd_gateway.cli.database import on_database
from ussd_gateway.cli.tables import table, when
from ussd_gateway.config.settings import load_settings
from ussd_gateway.domain.privacy import mask_phone

STATUSES = ("pending", "sent", "failed", "dead")


def register(commands: Any) -> None:
    sms = commands.add_parser("sms", help="the SMS outbox")
    actions = sms.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="messages, newest first")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    listing.set_defaults(func=run_list)


def row(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "purpose": message.purpose,
        "to": mask_phone(message.phone) if message.phone else "anonymous",
        "status": message.status,
        "provider_status": message.provider_status,
        "attempts": message.attempts,
        "created_at": iso(message.created_at),
        "text": message.body,
    }


def run_list(args: argparse.Namespace) -> int:
    from ussd_gateway.adapters.outbox.sms import SmsOutbox

    async def recent(sessions: Any) -> list[Any]:
        return await SmsOutbox(sessions).recent(status=args.status, limit=args.limit)

    messages = asyncio.run(on_database(load_settings(args.config).database_url, recent))
    if args.json:
        print(json.dumps([row(m) for m in messages], ensure_ascii=False, indent=2))
        return 0
    if not messages:
        print("no SMS yet")
        return 0
    headers = ("ID", "TO", "STATUS", "PROVIDER", "CREATED", "PURPOSE", "TEXT")
    rows = [
        (
            r["id"],
            r["to"],
            r["status"],
            r["provider_status"] or "-",
            when(m.created_at),
            r["purpose"],
            " ".join(m.body.split()),
        )
        for m, r in ((m, row(m)) for m in messages)
    ]
    print(table(headers, rows))
    return 0
