"""One Redis round trip for a plain hop: the engine runs on the session this process saved last.

``HopService._hop`` asks ``OneTrip.hop`` first; None means "not here", and the hop takes the
locked two-trip path, unchanged. The one-trip path is taken only when nothing about the hop
needs the lock to be safe: the Redis store has ``sessions.single_trip`` on, the request has text
(not a dial), this process saved the session last (``RedisSessionStore.recent``), it is the same
service, outside a directory, active, not offering a dropped journey back, and the request is
neither a repeat nor a retry. The engine then runs speculatively (``engine/speculation.py``): a
submit, a lookup, a language change or a directory's choice refuses, before any effect, and the
hop falls back. The store's one script saves the result only if the stored session is still the
one the engine started from, no hop holds its lock and no stalled hop waits to be replayed;
otherwise nothing is written and the hop falls back (the locked path re-reads the real state).

The guard's checks ride in the same script: counters counted once (never on a fallback, whose
locked path counts them), and a hop over a limit refused with the guard's own reply and log
line, via ``GuardAdmission.decide``. The observer hears of the hop only once it is saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ussd_gateway.adapters.sessions.single_trip import Verdict, ended
from ussd_gateway.application.guard import GuardAdmission
from ussd_gateway.application.hops import Admission, as_cumulative, is_repeat, newest_entry, stamped
from ussd_gateway.application.menus.registry import hop_on_version
from ussd_gateway.domain.ussd import UssdReply, UssdRequest
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.speculation import Speculating, Speculation

if TYPE_CHECKING:
    from ussd_gateway.application.hops import HopService


class OneTrip:
    """The one-trip path of one ``HopService`` (see the module doc)."""

    __slots__ = ("service",)

    def __init__(self, service: HopService) -> None:
        self.service = service

    async def hop(
        self,
        key: str,
        request: UssdRequest,
        definition: MenuDefinition,
        admission: Admission | None,
    ) -> UssdReply | None:
        """The hop's reply, saved in one trip; None when the locked path must answer it."""
        service = self.service
        store = service.store
        recent = getattr(store, "recent", None)
        if recent is None or not request.text:
            return None
        cached = recent.get(key)
        if cached is None:
            return None
        if admission is not None and type(admission) is not GuardAdmission:
            return None
        expected, session = cached
        if (
            session.service != definition.service
            or session.directory
            or session.resume_from is not None
            or ended(session)
            or is_repeat(session, request)
        ):
            return None
        asked = request
        request = as_cumulative(session.consumed, request)
        if request.text == session.consumed and session.hops:
            return None  # a retry of the hop already answered: the locked path replays it
        try:
            with Speculating():
                result = await hop_on_version(
                    service.engine,
                    service.router,
                    session,
                    definition,
                    newest_entry(session.consumed, request.text),
                )
        except Speculation:
            return None
        if result.enter is not None or result.language_changed:
            return None  # entering a service, remembering a language: the locked path does it
        new = stamped(result, request)
        limits = admission.found if admission is not None else []
        memo_key = admission.memo_key if admission is not None else None
        verdict, counts = await store.save_unchanged(key, expected, new, limits, memo_key)
        if verdict is Verdict.FALLBACK:
            recent.forget(key)  # maybe stale: the locked path's save remembers it again
            return None
        if admission is not None:
            # no memo (the script checked): the guard's bookkeeping, its limits' reply and log
            decided = await admission.decide([*counts, None], asked)
            if isinstance(decided, UssdReply):
                return decided
        if verdict is Verdict.LIMITED:  # the script and ``exceeded`` disagree: never expected
            return None
        service.observer.advanced(request, session, new)
        return UssdReply(result.reply.text, result.reply.end)
