"""The menus served now, and the older versions that sessions started on them still need.

A reload publishes new definitions; every session keeps running on the definition it started
on (``Session.version``) while this process still holds it, and new sessions get the new one.

Releasing old versions is time-based, not reference-counted: with Redis and many processes no
single process sees every session, and a count kept in Redis would cost a round trip per hop
and leak when a process dies. A session lives ``ttl`` after its last hop and its resume copy
``resume_window`` after that, so a version nobody in this process has used for
``ttl + resume_window`` (counted from its retirement or its last use, whichever is later) is
released. Should a session still arrive for a version a process does not hold (it restarted,
or released it), the engine's ``Navigator`` moves the session to the current version as gently
as it can: see there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ussd_gateway.application.menus.routing import Route, ServiceRouter
from ussd_gateway.engine.definition import MenuDefinition

if TYPE_CHECKING:
    from ussd_gateway.application.menus.loading import Disabled

log = logging.getLogger(__name__)

Versions = Mapping[str, tuple[str | None, str | None]]
"""Per service: (old version, new version); None where the service was absent."""


def stamp(definitions: Mapping[str, MenuDefinition], digest: str) -> dict[str, MenuDefinition]:
    """Fold the catalogues' digest into each version: a new institution list is a new version.

    A list screen shows catalogue items by number; a session that saw the old list must not
    pick from the new one.
    """
    if not digest:
        return dict(definitions)
    return {
        service: dataclasses.replace(
            definition,
            version=hashlib.sha256(f"{definition.version}:{digest}".encode()).hexdigest()[:12],
        )
        for service, definition in definitions.items()
    }


@dataclass(slots=True)
class Retained:
    """An old version kept for the sessions that started on it."""

    definition: MenuDefinition
    retired_at: float
    last_used: float


class MenuRegistry:
    """Current definitions and router, plus retained older versions; one per process.

    Resolves short codes like ``ServiceRouter`` (so ``HopService`` takes either), and swaps
    definitions and router atomically on ``publish`` (the event loop runs one hop at a time).
    """

    def __init__(
        self,
        definitions: Mapping[str, MenuDefinition],
        router: ServiceRouter,
        *,
        keep: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.definitions: dict[str, MenuDefinition] = dict(definitions)
        """Updated in place on publish, so holders of this dict see the current menus."""
        self.keep = keep
        self._router = router
        self._clock = clock
        self._retained: dict[tuple[str, str], Retained] = {}
        self.listeners: list[Callable[[], None]] = []
        """Called after each publish (e.g. the SMS keyword table rebuilds from the new menus)."""

    @property
    def disabled(self) -> Mapping[str, Disabled]:
        """Services not served because their file is broken."""
        return self._router.disabled

    @property
    def codes(self) -> dict[str, str]:
        return self._router.codes

    def resolve(self, service_code: str) -> Route | None:
        return self._router.resolve(service_code)

    def definition(self, service: str, version: str) -> MenuDefinition | None:
        """The definition of ``service`` at ``version`` if this process holds it."""
        current = self.definitions.get(service)
        if current is not None and current.version == version:
            return current
        kept = self._retained.get((service, version))
        if kept is None:
            return None
        kept.last_used = self._clock()
        return kept.definition

    def publish(self, definitions: Mapping[str, MenuDefinition], router: ServiceRouter) -> Versions:
        """Serve ``definitions`` to new sessions; keep replaced versions for running ones."""
        now = self._clock()
        changes: dict[str, tuple[str | None, str | None]] = {}
        for service in sorted(set(self.definitions) | set(definitions)):
            old, new = self.definitions.get(service), definitions.get(service)
            changes[service] = (old and old.version, new and new.version)
            if new is not None:
                self._retained.pop((service, new.version), None)  # a reverted edit is current
            if old is not None and (new is None or new.version != old.version):
                self._retained[(service, old.version)] = Retained(old, now, now)
        self.definitions.clear()
        self.definitions.update(definitions)
        self._router = router
        self.release()
        for listener in self.listeners:
            try:
                listener()
            except Exception:  # a listener's bug must not undo the publish
                log.exception("after publishing menus")
        return changes

    def release(self) -> list[tuple[str, str]]:
        """Drop versions unused here for ``keep`` seconds since retirement or last use."""
        now = self._clock()
        gone = [
            key
            for key, kept in self._retained.items()
            if now - max(kept.retired_at, kept.last_used) >= self.keep
        ]
        for key in gone:
            del self._retained[key]
            log.info("released %s version %s: no session used it for %.0fs", *key, self.keep)
        return gone

    def versions(self) -> dict[str, dict[str, object]]:
        """Per service, the current version and the older ones still held (for operators)."""
        self.release()
        retained: dict[str, list[str]] = {}
        for service, version in sorted(self._retained):
            retained.setdefault(service, []).append(version)
        current = {service: d.version for service, d in self.definitions.items()}
        return {
            service: {"current": current.get(service), "retained": retained.get(service, [])}
            for service in sorted(set(current) | set(retained))
        }
