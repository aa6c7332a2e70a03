"""The audit log: who reloaded, retried, purged or changed a status, when, and how it ended.

Rows are written after the action, whichever way it went (a refused attempt too), and never
changed. A failed audit write is logged loudly but does not undo the action it describes: the
action has happened, and the operator is owed its answer.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.models import AuditRecord, utcnow

log = logging.getLogger(__name__)

_LIMITS = {
    column.name: column.type.length
    for column in AuditRecord.__table__.columns
    if isinstance(getattr(column.type, "length", None), int)
}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    """``admin``, an operator's name, ``cli:<os user>`` or ``backend:<name>``."""
    action: str
    """``reload``, ``retry``, ``purge``, ``status`` (and what an operator was refused)."""
    target: str
    """A service, a reference, or ``*``."""
    result: str
    service: str | None = None
    detail: str | None = None


def _fitted(entry: AuditEntry) -> dict[str, object]:
    """Column values, each cut to its column (a long detail must not lose the row)."""
    values: dict[str, object] = {
        "at": utcnow(),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "result": entry.result,
        "service": entry.service,
        "detail": entry.detail,
    }
    for name, value in values.items():
        limit = _LIMITS.get(name)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            values[name] = value[: limit - 1] + "…"
    return values


def as_row(record: AuditRecord) -> dict[str, str | None]:
    """A row as operators read it (``GET /admin/audit``, ``ussd-gateway audit --json``)."""
    return {
        "at": record.at.isoformat() if record.at else None,
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "service": record.service,
        "result": record.result,
        "detail": record.detail,
    }


class AuditLog:
    """Writes and reads ``audit_log`` rows."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def record(self, entry: AuditEntry) -> bool:
        """Store ``entry``; False (and an error logged) when the database refused it."""
        try:
            async with self._sessionmaker() as session, session.begin():
                await session.execute(insert(AuditRecord), [_fitted(entry)])
        except Exception as exc:
            log.error(
                "audit row lost (%s %s %s → %s): %s: %s",
                entry.actor,
                entry.action,
                entry.target,
                entry.result,
                type(exc).__name__,
                exc,
            )
            return False
        return True

    async def find(
        self,
        *,
        since: dt.datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        service: str | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Newest first."""
        query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
        if since is not None:
            query = query.where(AuditRecord.at >= since)
        if actor:
            query = query.where(AuditRecord.actor == actor)
        if action:
            query = query.where(AuditRecord.action == action)
        if service:
            query = query.where(AuditRecord.service == service)
        async with self._sessionmaker() as session:
            return list((await session.scalars(query)).all())
