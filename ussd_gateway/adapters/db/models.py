"""SQLAlchemy models for what must survive a restart.

The migrations in ``migrations/versions`` are written by hand and must match these models;
``tests/db/test_migrations.py`` compares them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ussd_gateway.domain.case_status import CASE_STATUSES

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so hand-written migrations can refer to them later."""

CHANNELS: tuple[str, ...] = ("ussd", "sms")

PENDING = "pending"
"""Status of a submission not yet delivered to its backend."""
DELIVERED = "delivered"
FAILED = "failed"
"""The backend refused it (a 4xx): retrying will not help; an operator may retry it."""
DEAD = "dead"
"""Retried until the give-up age or attempt limit: a dead letter for an operator."""
BACKEND_STATUSES: tuple[str, ...] = CASE_STATUSES
"""Statuses a backend reports back about a submission it holds (``domain.case_status``)."""
SUBMISSION_STATUSES: tuple[str, ...] = (PENDING, DELIVERED, FAILED, DEAD, *BACKEND_STATUSES)
"""Every status a submission can be in: the gateway's own, then its backend's."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A ``timestamp with time zone`` that always comes back timezone-aware, in UTC.

    PostgreSQL keeps the zone; SQLite stores text and forgets it, so values are written as naive
    UTC and tagged UTC again on the way out. Naive values given to it are taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Submission(Base):
    """One completed request, stored before the citizen is shown its reference.

    ``status``/``attempts``/``next_attempt_at`` let a delivery worker claim due rows with
    ``SELECT … FOR UPDATE SKIP LOCKED`` using the ``(status, next_attempt_at)`` index.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint("channel IN ('ussd', 'sms')", name="channel"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The number of an anonymous submitter must never reach the disk, whatever the caller does.
        CheckConstraint("NOT anonymous OR phone IS NULL", name="anonymous_has_no_phone"),
        Index(None, "status", "next_attempt_at"),
    )

    # SQLite only auto-increments an ``INTEGER PRIMARY KEY``; PostgreSQL gets a bigint.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    service: Mapped[str] = mapped_column(String(100))
    backend: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    anonymous: Mapped[bool] = mapped_column(default=False, server_default=false())
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32), default=PENDING, server_default=PENDING)
    status_note: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    # Delivery (migration 0002): the worker's lease and what the backend answered.
    locked_by: Mapped[str | None] = mapped_column(String(64))
    """The worker holding this submission, until ``locked_until``."""
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    requeued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """When an operator last retried it: the give-up age counts from here instead."""
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    remote_id: Mapped[str | None] = mapped_column(String(100))
    """The backend's own case number."""
    last_error: Mapped[str | None] = mapped_column(Text)
    status_notes: Mapped[dict[str, str] | None] = mapped_column(JSON)
    """The backend's public note per language ({sw, en}); ``status_note`` holds a plain one."""
    # Status reports (migration 0005).
    status_reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """The timestamp of the last status report taken: an older one is a replay."""
    reopened: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """How often the backend reopened the case: each round's statuses are told anew."""

    def __repr__(self) -> str:  # never print the phone or the data
        return f"<Submission {self.reference} {self.service} {self.status}>"


class DeliveryAttempt(Base):
    """One attempt to deliver a submission: what operators read in ``submissions show``."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index(None, "submission_id", "attempt"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    submission_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("submissions.id", ondelete="CASCADE"),
    )
    reference: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float] = mapped_column(Float)
    worker: Mapped[str] = mapped_column(String(64))


SESSION_EVENT_KINDS: tuple[str, ...] = ("start", "screen", "end")


class SessionEvent(Base):
    """One step of a citizen's journey, for the drop-off funnel and the daily summary.

    ``session_id`` is an opaque hash of the aggregator's session id: no phone number, nothing
    that leads back to the citizen. Written in batches, off the hop's path.
    """

    __tablename__ = "session_events"
    __table_args__ = (
        CheckConstraint("kind IN ('start', 'screen', 'end')", name="kind"),
        Index(None, "service", "at"),
        Index(None, "session_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    session_id: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    screen: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<SessionEvent {self.service} {self.kind} {self.screen or self.reason or ''}>"


# ---- SMS channel (migration 0004) ----

SMS_PENDING = "pending"
"""Stored, not yet accepted by the SMS API (waiting for its first or next attempt)."""
SMS_SENT = "sent"
"""Accepted by the SMS API; delivery reports then fill ``provider_status``."""
SMS_FAILED = "failed"
"""Refused for good (invalid or blacklisted number...): retrying will not help."""
SMS_DEAD = "dead"
"""Retried until the give-up age or attempt limit."""
SMS_STATUSES: tuple[str, ...] = (SMS_PENDING, SMS_SENT, SMS_FAILED, SMS_DEAD)


class SmsMessage(Base):
    """One SMS to one citizen: stored before it is sent, claimed by workers with a lease.

    ``purpose`` is unique (``receipt:<reference>``, ``status:<reference>:<status>``,
    ``reply:<inbound id>``): the same purpose is never queued, hence never sent, twice.
    """

    __tablename__ = "sms_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'dead')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "message_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    purpose: Mapped[str] = mapped_column(String(200), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    """None once sent when ``drop_phone`` (anonymous receipts)."""
    drop_phone: Mapped[bool] = mapped_column(default=False, server_default=false())
    language: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(16))
    link_id: Mapped[str | None] = mapped_column(String(100))
    """The inbound message's linkId: the reply goes out as a premium (on-demand) SMS."""
    sender: Mapped[str | None] = mapped_column(String(32))
    """Short code or sender id to send from; None: the configured one."""
    status: Mapped[str] = mapped_column(String(16), default=SMS_PENDING, server_default=SMS_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(String(100))
    """The provider's id for this recipient: delivery reports name it."""
    cost: Mapped[str | None] = mapped_column(String(32))
    status_code: Mapped[int | None] = mapped_column(Integer)
    provider_status: Mapped[str | None] = mapped_column(String(32))
    """The provider's word: Success/Sent/... when accepted, then the delivery report's status."""
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    network_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:  # never print the phone or the text
        return f"<SmsMessage {self.purpose} {self.status}>"


class SmsOptOut(Base):
    """A number that sent ACHA/STOP: no status updates until it sends ANZA/START."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )


class AuditRecord(Base):
    """One operator action (reload, retry, purge) or backend status change: who, what, when,
    and how it ended. Written after the action, whichever way it went; never updated."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index(None, "at"),
        Index(None, "actor", "at"),
        Index(None, "action", "at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    """``admin``, an operator's name, ``cli:<os user>`` or ``backend:<name>``."""
    action: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(200))
    """A service, a reference, or ``*`` for all of them."""
    service: Mapped[str | None] = mapped_column(String(100))
    result: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))

    def __repr__(self) -> str:
        return f"<AuditRecord {self.actor} {self.action} {self.target} {self.result}>"
