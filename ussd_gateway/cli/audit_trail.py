"""Audit rows for what operators do on the command line (``ussd-gateway audit`` reads them)."""

from __future__ import annotations

import getpass
from typing import Any


def cli_actor() -> str:
    """Who a command-line action is recorded as."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return "cli:unknown"


async def record(url: str, action: str, target: str, result: str, **extra: Any) -> None:
    """Write one audit row for a command-line action (on an already migrated database)."""
    from ussd_gateway.adapters.audit import AuditEntry, AuditLog
    from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker

    engine = create_engine(url)
    try:
        log = AuditLog(create_sessionmaker(engine))
        await log.record(AuditEntry(cli_actor(), action, target, result, **extra))
    finally:
        await engine.dispose()
