"""The gateway's hop observer: Prometheus counters and session events, both without waiting."""

from __future__ import annotations

from typing import Any

from ussd_gateway.adapters.observe.events import (
    ENTERED,
    TO_DIRECTORY,
    EventRecorder,
    opaque_session_id,
)
from ussd_gateway.adapters.observe.metrics import (
    DEPENDENCY_ERRORS,
    DIRECTORY_ENTRIES,
    HOP_SECONDS,
    HOPS,
    SCREENS,
    SESSIONS_ENDED,
    SESSIONS_STARTED,
    UNKNOWN_CODES,
)
from ussd_gateway.domain.session import Session, SessionStatus
from ussd_gateway.domain.ussd import UssdReply, UssdRequest


def end_reason(session: Session) -> str | None:
    """Why a session is over after this hop, or None while it goes on.

    An end screen is a completed journey unless it declares ``outcome: cancelled`` (the citizen's
    own "cancel"); the engine cancelling a session means it could not go on.
    """
    if session.status is SessionStatus.COMPLETED:
        return "cancelled" if session.end_reason == "cancelled" else "completed"
    if session.status is SessionStatus.CANCELLED or session.last_end:
        return "error"
    return None


_CHILDREN: dict[tuple[object, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per label set (a few hops' worth of CPU
    per thousand hops saved: ``labels`` takes a lock and builds keys on every call)."""
    key = (metric, labels)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*labels)
    return found


class GatewayObserver:
    """Counts hops and sessions, and queues session events for SQL (when ``events`` is given)."""

    def __init__(self, events: EventRecorder | None = None) -> None:
        self.events = events

    def advanced(self, request: UssdRequest, previous: Session | None, current: Session) -> None:
        """Counts each step for the service it is in: a session through a directory is a visit
        to the directory and a visit to each service it enters from there (see ``_moved``)."""
        service, provider = current.service, request.provider
        sid = opaque_session_id(provider, request.session_id)
        was = previous.service if previous is not None else None
        if was != service:
            self._moved(sid, provider, previous, current)
        shown = current.status is not SessionStatus.CANCELLED and current.screen
        moved = previous is None or was != service or previous.screen != current.screen
        if shown and moved:
            child(SCREENS, service, current.screen).inc()
            self._event(sid, service, provider, "screen", screen=current.screen)
        reason = end_reason(current)
        if reason is not None:
            self._ended(sid, service, provider, reason, current.screen or None)
            if current.directory:  # a directory's session ends as the service it chose
                self._ended(sid, current.directory, provider, reason, ENTERED + service)

    def _moved(self, sid: str, provider: str, previous: Session | None, current: Session) -> None:
        """A new session, or one that entered a service from its directory or went back there.

        Entering (from the list, or by an extended code such as ``*152*00*1#``) starts the
        service's visit and is the directory's ``-> service`` step; a dial straight into a
        service through the directory's code starts the directory's visit too. Going back ends
        the service's visit (``to_directory``) while the directory's goes on.
        """
        service, directory = current.service, current.directory
        if previous is not None and previous.directory == service:
            self._ended(sid, previous.service, provider, TO_DIRECTORY, previous.screen or None)
            return
        if directory and (previous is None or previous.service != directory):
            self._started(sid, directory, provider)
        if directory:
            child(DIRECTORY_ENTRIES, directory, service).inc()
            self._event(sid, directory, provider, "screen", screen=ENTERED + service)
        self._started(sid, service, provider)

    def _started(self, sid: str, service: str, provider: str) -> None:
        child(SESSIONS_STARTED, service, provider).inc()
        self._event(sid, service, provider, "start")

    def _ended(
        self, sid: str, service: str, provider: str, reason: str, screen: str | None
    ) -> None:
        child(SESSIONS_ENDED, service, provider, reason).inc()
        self._event(sid, service, provider, "end", screen=screen, reason=reason)

    def answered(
        self, request: UssdRequest, service: str | None, reply: UssdReply, seconds: float
    ) -> None:
        if service is None:
            child(UNKNOWN_CODES, request.provider).inc()
            return
        child(HOPS, service, request.provider, "END" if reply.end else "CON").inc()
        child(HOP_SECONDS, service, request.provider).observe(seconds)

    def failed(self, request: UssdRequest, service: str, dependency: str) -> None:
        child(DEPENDENCY_ERRORS, dependency).inc()
        child(HOPS, service, request.provider, "END").inc()
        child(SESSIONS_ENDED, service, request.provider, "error").inc()
        sid = opaque_session_id(request.provider, request.session_id)
        self._event(sid, service, request.provider, "end", reason="error")

    def session_ended(self, provider: str, session_id: str, service: str, reason: str) -> None:
        """For the aggregator's end-of-session notice (a hang-up: ``cancelled``)."""
        self._ended(opaque_session_id(provider, session_id), service, provider, reason, None)

    def _event(
        self,
        session_id: str,
        service: str,
        provider: str,
        kind: str,
        *,
        screen: str | None = None,
        reason: str | None = None,
    ) -> None:
        if self.events is not None:
            self.events.record(
                session_id=session_id,
                service=service,
                provider=provider,
                kind=kind,
                screen=screen,
                reason=reason,
            )
