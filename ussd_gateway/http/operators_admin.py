"""Operators' admin endpoints for submissions, and the audit log's HTTP side.

``GET /admin/submissions``, ``GET /admin/submissions/{reference}`` and
``POST /admin/submissions/{reference}/retry`` answer ``ADMIN_TOKEN`` for every service and an
operator's token for its own services only (403 with the reason otherwise);
``GET /admin/audit`` shows admin every row and an operator its own. Reloads, retries (and the
refusals of either) are written to the audit log with who asked; so is every status change a
backend reports, through the status endpoint's listeners (the handler itself is untouched).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from aiohttp import web

from ussd_gateway.adapters.audit import AuditEntry, AuditLog, as_row
from ussd_gateway.adapters.db.engine import create_sessionmaker
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.application.submission_views import attempt_row, summary
from ussd_gateway.domain.submissions import StatusChange, StatusListener
from ussd_gateway.http.backend_status import LEDGER, STATUS_LISTENERS
from ussd_gateway.http.guard.admin import OPERATOR, refused, scoped
from ussd_gateway.http.keys import DATABASE, MENUS

AUDIT = web.AppKey("audit_log", AuditLog)

MAX_LIMIT = 500


async def audit(
    request: web.Request,
    action: str,
    target: str,
    result: str,
    *,
    service: str | None = None,
    detail: str | None = None,
) -> None:
    """Record an admin action as the operator of ``request``."""
    log = request.app.get(AUDIT)
    if log is not None:
        actor = request[OPERATOR].name
        await log.record(AuditEntry(actor, action, target, result, service, detail))


def _limit(request: web.Request, default: int = 50) -> int:
    raw = request.query.get("limit", "")
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise web.HTTPBadRequest(
            text=f'{{"error": "limit must be a whole number from 1 to {MAX_LIMIT}"}}',
            content_type="application/json",
        )
    return int(raw)


def _owned(request: web.Request, service: str) -> bool:
    return request[OPERATOR].owns(request.app[MENUS].definitions.get(service))


@scoped
async def list_submissions(request: web.Request) -> web.Response:
    """Newest first, filtered by ``status`` and ``service``; an operator's own services only."""
    operator = request[OPERATOR]
    status = request.query.get("status") or None
    service = request.query.get("service") or None
    limit = _limit(request)
    ledger = request.app[LEDGER]
    if service is not None and not _owned(request, service):
        return refused(f"service {service!r} is not one of {operator.name}'s services")
    if operator.admin or service is not None:
        rows = await ledger.find(status=status, service=service, limit=limit)
    else:
        rows = []
        for own in operator.services(request.app[MENUS].definitions):
            rows += await ledger.find(status=status, service=own, limit=limit)
        rows = sorted(rows, key=lambda s: s.id, reverse=True)[:limit]
    return web.json_response({"submissions": [summary(s) for s in rows]})


async def _own_submission(request: web.Request, action: str) -> Submission | web.Response:
    reference = request.match_info["reference"]
    found = await request.app[LEDGER].show(reference)
    if found is None:
        return web.json_response({"error": f"no submission {reference!r}"}, status=404)
    submission = found[0]
    if not _owned(request, submission.service):
        if action != "show":
            await audit(
                request, action, submission.reference, "refused", service=submission.service
            )
        return refused(
            f"submission {submission.reference} belongs to service {submission.service!r}, "
            f"not one of {request[OPERATOR].name}'s services"
        )
    return submission


@scoped
async def show_submission(request: web.Request) -> web.Response:
    submission = await _own_submission(request, "show")
    if isinstance(submission, web.Response):
        return submission
    found = await request.app[LEDGER].show(submission.reference)
    attempts = found[1] if found is not None else []
    return web.json_response({**summary(submission), "history": [attempt_row(a) for a in attempts]})


@scoped
async def retry_submission(request: web.Request) -> web.Response:
    """Deliver a failed, dead or pending submission again now, with a fresh attempt budget."""
    submission = await _own_submission(request, "retry")
    if isinstance(submission, web.Response):
        return submission
    reference, service = submission.reference, submission.service
    requeued = await request.app[LEDGER].requeue(reference=reference)
    if not requeued:
        await audit(request, "retry", reference, "not_retryable", service=service)
        reason = (
            f"{reference} is {submission.status}: only failed, dead or pending ones are retried"
        )
        return web.json_response({"error": reason}, status=409)
    await audit(request, "retry", reference, "ok", service=service, detail=submission.status)
    return web.json_response({"requeued": requeued})


@scoped
async def list_audit(request: web.Request) -> web.Response:
    """Newest first; an operator sees the rows of its own actions."""
    operator = request[OPERATOR]
    since = None
    if raw := request.query.get("since"):
        try:
            since = dt.datetime.fromisoformat(raw)
        except ValueError:
            return web.json_response({"error": "since must be an ISO 8601 time"}, status=400)
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
    actor = request.query.get("actor") or None
    if not operator.admin:
        actor = operator.name
    rows = await request.app[AUDIT].find(
        since=since,
        actor=actor,
        action=request.query.get("action") or None,
        service=request.query.get("service") or None,
        limit=_limit(request, 100),
    )
    return web.json_response({"entries": [as_row(r) for r in rows]})


def status_auditor(log: AuditLog) -> StatusListener:
    """A status listener writing each change a backend reported to the audit log."""

    async def audited(change: StatusChange) -> None:
        await log.record(
            AuditEntry(
                f"backend:{change.backend}",
                "status",
                change.reference,
                change.status,
                detail=f"{change.previous} -> {change.status}",
            )
        )

    return audited


def setup_operators(app: web.Application) -> None:
    """The submissions and audit endpoints, and the audit log (after ``setup_forwarding``)."""
    app.router.add_get("/admin/submissions", list_submissions)
    app.router.add_get("/admin/submissions/{reference}", show_submission)
    app.router.add_post("/admin/submissions/{reference}/retry", retry_submission)
    app.router.add_get("/admin/audit", list_audit)

    async def auditing(app: web.Application) -> AsyncIterator[None]:
        log = app[AUDIT] = AuditLog(create_sessionmaker(app[DATABASE]))
        app[STATUS_LISTENERS].append(status_auditor(log))
        yield

    app.cleanup_ctx.append(auditing)
