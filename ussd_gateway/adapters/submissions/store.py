"""Durable submissions: committed to the database before the citizen is shown the reference."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ussd_gateway.adapters.db.models import CHANNELS, Submission, utcnow
from ussd_gateway.adapters.db.writelock import writers_lock
from ussd_gateway.adapters.observe.metrics import DEPENDENCY_ERRORS
from ussd_gateway.adapters.outbox.enqueue import enqueue_in
from ussd_gateway.adapters.submissions.group_commit import DIALECTS, RECEIPT_KEY, GroupCommit
from ussd_gateway.domain.references import is_valid, new_reference, normalise
from ussd_gateway.domain.submissions import SmsReceipt, SubmissionDraft, SubmissionView

log = logging.getLogger(__name__)

MAX_REFERENCE_TRIES = 5

# SQLSTATE classes meaning "the database cannot serve us now" rather than "the query is wrong":
# connection exception, invalid authorisation, no such database, transaction rollback
# (serialisation failure, deadlock), insufficient resources, operator intervention (shutdown,
# statement timeout, still starting), system error.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "28", "3D", "40", "53", "57", "58"})

# SQLite reports both outages and SQL mistakes ("no such table") as OperationalError; its primary
# result codes tell them apart: BUSY, LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN,
# PROTOCOL, NOTADB.
_UNAVAILABLE_SQLITE_CODES = frozenset({5, 6, 7, 8, 10, 11, 13, 14, 15, 26})


_INSERT = insert(Submission.__table__)
"""A plain Core insert, built once: parameters per call, no per-hop ORM statement building."""


class SubmissionUnavailable(RuntimeError):
    """The database cannot be reached or is overloaded; show a polite "try again later" screen.

    From ``submit`` the outcome is unknown: retrying with the same idempotency key is safe.
    """


class SubmissionStore:
    """Stores submissions and answers tracking queries; knows nothing of menus or backends."""

    def __init__(
        self, *, sessionmaker: async_sessionmaker[AsyncSession], group_commit: bool | None = None
    ) -> None:
        """``group_commit``: share transactions between concurrent submits (None: on SQLite and
        PostgreSQL; see ``submissions.group_commit``)."""
        self._sessionmaker = sessionmaker
        bind = sessionmaker.kw.get("bind")
        if group_commit is None:
            group_commit = getattr(getattr(bind, "dialect", None), "name", "") in DIALECTS
        self._group = (
            GroupCommit(
                lambda: self._sessionmaker.kw["bind"],
                self._submit_alone,
                _as_unavailable,
                lambda: new_reference(),
                writers_lock(bind).held,
            )
            if group_commit
            else None
        )

    async def close(self) -> None:
        """Give back what group commit holds (before the engine is disposed)."""
        if self._group is not None:
            await self._group.close()

    async def submit(self, draft: SubmissionDraft) -> str:
        """Store ``draft`` and return its reference, once committed.

        Idempotent on ``draft.idempotency_key``: a retried or duplicated hop, even one running
        at the same time in another process, gets the first submission's reference and adds
        nothing. Insert first and look up on conflict, so the common case is one round trip and
        the database's unique index, not a racy read, decides who won.
        """
        values = _row_values(draft)
        if draft.receipt is not None:
            # queued in the submission's own transaction: one queued afterwards could be lost
            # to a crash between the two, and it costs one more INSERT in a paid round trip
            values[RECEIPT_KEY] = draft.receipt
        if self._group is not None:
            return await self._group.submit(values)
        return await self._submit_alone(values)

    async def _submit_alone(self, values: dict[str, Any]) -> str:
        """One submission in a transaction of its own (see ``submit``)."""
        receipt: SmsReceipt | None = values.pop(RECEIPT_KEY, None)
        with _unavailable_on_failure():
            for _ in range(MAX_REFERENCE_TRIES):
                reference = new_reference()
                try:
                    async with self._sessionmaker() as session, session.begin():
                        await session.execute(_INSERT, {"reference": reference, **values})
                        if receipt is not None:
                            await enqueue_in(session, [receipt.message(reference)])
                    return reference
                except sa_exc.IntegrityError:
                    # The failed transaction is rolled back; the winner has committed by now
                    # (both databases make a conflicting insert wait for the other to finish).
                    existing = await self._reference_for_key(values["idempotency_key"])
                    if existing is not None:
                        return existing
                    if not await self._reference_exists(reference):
                        raise  # neither key nor reference: a constraint the draft broke
                    log.warning("reference collision, drawing another")
            raise SubmissionUnavailable(
                f"no unused reference after {MAX_REFERENCE_TRIES} tries; table nearly full?"
            )

    async def get(self, reference: str) -> SubmissionView | None:
        """What a citizen tracking ``reference`` may see; None if mistyped or unknown."""
        reference = normalise(reference)
        if not is_valid(reference):
            return None  # a typo: no need to ask the database
        query = select(
            Submission.reference,
            Submission.service,
            Submission.status,
            Submission.status_note,
            Submission.status_notes,
            Submission.created_at,
            Submission.updated_at,
            Submission.kind,
        ).where(Submission.reference == reference)
        with _unavailable_on_failure():
            async with self._sessionmaker() as session:
                row = (await session.execute(query)).one_or_none()
        if row is None:
            return None
        return SubmissionView(
            reference=row.reference,
            service=row.service,
            status=row.status,
            status_note=row.status_notes or row.status_note,
            created_at=row.created_at,
            updated_at=row.updated_at,
            kind=row.kind,
        )

    async def existing(self, idempotency_key: str) -> str | None:
        """The reference stored under ``idempotency_key``, if any: a ``once_per`` repeat."""
        with _unavailable_on_failure():
            return await self._reference_for_key(idempotency_key)

    async def set_status(self, reference: str, status: str, note: str | None = None) -> bool:
        """Record what happened to a submission (``note`` replaces any previous note).

        Returns False if the reference is unknown.
        """
        _check_length("status", status)
        reference = normalise(reference)
        if not is_valid(reference):
            return False
        query = (
            update(Submission)
            .where(Submission.reference == reference)
            .values(status=status, status_note=note, status_notes=None, updated_at=utcnow())
        )
        with _unavailable_on_failure():
            async with self._sessionmaker() as session, session.begin():
                result = await session.execute(query)
        return bool(getattr(result, "rowcount", 0))

    async def count(self, **filters: Any) -> int:
        """How many submissions match ``column=value`` filters (all of them without filters)."""
        unknown = set(filters) - set(Submission.__table__.columns.keys())
        if unknown:
            raise TypeError(f"unknown submission columns: {sorted(unknown)}")
        query = select(func.count()).select_from(Submission).filter_by(**filters)
        with _unavailable_on_failure():
            async with self._sessionmaker() as session:
                return (await session.execute(query)).scalar_one()

    async def ping(self) -> None:
        """Raise SubmissionUnavailable unless the database answers (readiness probes)."""
        with _unavailable_on_failure():
            async with self._sessionmaker() as session:
                await session.execute(select(literal(1)))

    async def _reference_for_key(self, idempotency_key: str) -> str | None:
        query = select(Submission.reference).where(Submission.idempotency_key == idempotency_key)
        async with self._sessionmaker() as session:
            return (await session.execute(query)).scalar_one_or_none()

    async def _reference_exists(self, reference: str) -> bool:
        query = select(Submission.id).where(Submission.reference == reference)
        async with self._sessionmaker() as session:
            return (await session.execute(query)).first() is not None


def _row_values(draft: SubmissionDraft) -> dict[str, Any]:
    """Column values for ``draft``, checked here so a bad draft fails the same on every database."""
    if draft.channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, not {draft.channel!r}")
    if not draft.idempotency_key:
        raise ValueError("idempotency_key must not be empty")
    values: dict[str, Any] = {
        "idempotency_key": draft.idempotency_key,
        "service": draft.service,
        "backend": draft.backend,
        "channel": draft.channel,
        "language": draft.language,
        "kind": draft.kind,
        # Anonymous means anonymous: the number is dropped here, whatever the caller passed.
        "phone": None if draft.anonymous else draft.phone,
        "anonymous": draft.anonymous,
        "data": dict(draft.data),
    }
    for name, value in values.items():
        if isinstance(value, str):
            _check_length(name, value)
    return values


_LIMITS: dict[str, int] = {
    column.name: column.type.length
    for column in Submission.__table__.columns
    if isinstance(getattr(column.type, "length", None), int)
}
"""Column lengths, read once: PostgreSQL rejects over-long strings and SQLite silently keeps
them, so they are rejected up front."""


def _check_length(column: str, value: str) -> None:
    limit = _LIMITS.get(column)
    if limit is not None and len(value) > limit:
        raise ValueError(f"{column} is longer than {limit} characters")


@contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Turn "the database is not there" into SubmissionUnavailable; let real bugs through."""
    try:
        yield
    except Exception as error:
        unavailable = _as_unavailable(error)
        if unavailable is None:
            raise
        raise unavailable from error


def _as_unavailable(error: BaseException) -> SubmissionUnavailable | None:
    """The SubmissionUnavailable for an outage (counted and logged), None for anything else."""
    if not _is_unavailable(error):
        return None
    # The driver's message only: SQLAlchemy's own would list the statement's parameters,
    # which hold the citizen's number and answers.
    DEPENDENCY_ERRORS.labels("database").inc()
    reason = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    message = f"submissions database unavailable: {type(reason).__name__}: {reason}"
    log.warning("%s", message)
    unavailable = SubmissionUnavailable(message)
    unavailable.__cause__ = error
    return unavailable


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(
        error,
        (
            OSError,  # connection refused, unreachable host, DNS failure
            TimeoutError,
            sa_exc.TimeoutError,  # no free connection in the pool
            sa_exc.DisconnectionError,
            sa_exc.InterfaceError,  # connection closed under us
        ),
    ):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in _UNAVAILABLE_SQLITE_CODES
    if isinstance(error, sa_exc.OperationalError):
        return True
    # asyncpg's errors reach us wrapped in a generic DBAPIError; their SQLSTATE says which.
    sqlstate = getattr(orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
