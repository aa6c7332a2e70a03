"""Personal data is kept no longer than needed: clear it from old submissions.

A purged submission keeps what statistics need (reference, service, kind, status, dates,
channel, language) and loses the citizen's number and the answers named personal
(``privacy.personal_keys``: name and phone by default). Rows are read in primary-key batches
and each batch is updated in one transaction, so a purge of years of data neither holds a
long lock nor loads the table into memory.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.models import Submission, utcnow
from ussd_gateway.config.privacy import DEFAULT_PERSONAL_KEYS

BATCH = 500

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


def parse_age(text: str) -> dt.timedelta:
    """``365d``, ``12w``, ``36h``, ``90`` (days) -> a timedelta; ValueError otherwise."""
    match = _AGE.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"not an age: {text!r} (try 365d, 12w or 36h)")
    return dt.timedelta(seconds=float(match.group(1)) * _UNIT[match.group(2)])


@dataclass
class PurgeResult:
    cutoff: dt.datetime
    examined: int = 0
    """Submissions older than the cutoff."""
    purged: int = 0
    """Of those, how many still held personal data (and lost it, unless a dry run)."""
    numbers: int = 0
    answers: int = 0


async def purge(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    older_than: dt.timedelta,
    personal_keys: tuple[str, ...] = DEFAULT_PERSONAL_KEYS,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    batch: int = BATCH,
) -> PurgeResult:
    """Clear number and personal answers of submissions created before ``now - older_than``."""
    result = PurgeResult(cutoff=(now or utcnow()) - older_than)
    personal = set(personal_keys)
    last_id = 0
    while True:
        query = (
            select(Submission.id, Submission.phone, Submission.data)
            .where(Submission.created_at < result.cutoff, Submission.id > last_id)
            .order_by(Submission.id)
            .limit(batch)
        )
        async with sessionmaker() as session, session.begin():
            rows = (await session.execute(query)).all()
            if not rows:
                return result
            last_id = rows[-1].id
            changes = []
            for row in rows:
                data = dict(row.data or {})
                removed = personal.intersection(data)
                if row.phone is None and not removed:
                    continue
                result.numbers += row.phone is not None
                result.answers += len(removed)
                changes.append(
                    {
                        "id": row.id,
                        "phone": None,
                        "data": {k: v for k, v in data.items() if k not in personal},
                    }
                )
            result.examined += len(rows)
            result.purged += len(changes)
            if changes and not dry_run:
                await session.execute(update(Submission), changes)
