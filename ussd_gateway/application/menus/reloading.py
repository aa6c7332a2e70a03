"""Publishing edited menus without a restart: SIGHUP, ``serve --reload`` and the admin endpoint.

Every trigger runs the same ``Reloader.reload``: read and validate every menu and catalogue with
the loader used at start-up (in a thread: the event loop keeps answering hops), and publish
only when all of it is valid. A broken edit is logged and returned; the old menus keep serving.

With Redis, a successful reload is announced to every other process, which reloads from its own
files (``reload_broadcast``); without it, signal each process or run each with ``--reload``.
Sessions reaching a process without their version are moved gently (``engine.navigation``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from ussd_gateway.adapters.broadcast import ReloadBroadcast
from ussd_gateway.application.menus.registry import MenuRegistry, Versions, stamp
from ussd_gateway.application.menus.routing import ServiceRouter
from ussd_gateway.config.reload import ReloadConfig
from ussd_gateway.config.settings import Settings
from ussd_gateway.engine.definition import DefinitionError, MenuDefinition, Problem
from ussd_gateway.engine.directory import START, DirectoryScreen
from ussd_gateway.ports.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

STOP_TIMEOUT = 2.0
"""Seconds the reload tasks get to stop when the server shuts down."""

PEER = "another process"
"""The trigger of a reload announced by another process (never announced again)."""


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What a reload did, as logged and as answered to ``POST /admin/reload``."""

    ok: bool
    trigger: str
    problems: tuple[str, ...] = ()
    versions: Versions = field(default_factory=dict)
    disabled: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Services left out because their file is broken (the others were published)."""
    kept: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Services whose file is broken now, still serving the version they had."""
    fallback: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Directories whose file is broken, with no good version to keep: a plain list of the
    services that loaded is served on their code."""

    @property
    def published(self) -> bool:
        return self.ok or bool(self.disabled or self.kept or self.fallback)

    def as_json(self) -> dict[str, Any]:
        if not self.published:
            return {"ok": False, "trigger": self.trigger, "problems": list(self.problems)}
        services = {
            service: {"old": old, "new": new, "changed": old != new}
            for service, (old, new) in self.versions.items()
        }
        answer: dict[str, Any] = {"ok": self.ok, "trigger": self.trigger, "services": services}
        if not self.ok:  # the others were published: 422 says which were not, and why
            answer["published"] = True
            answer["disabled"] = {name: list(why) for name, why in self.disabled.items()}
            answer["kept"] = {name: list(why) for name, why in self.kept.items()}
            if self.fallback:
                answer["fallback"] = {name: list(why) for name, why in self.fallback.items()}
            broken = [*self.disabled.values(), *self.kept.values(), *self.fallback.values()]
            answer["problems"] = [p for why in broken for p in why]
        return answer


def catalogue_digest(settings: Settings) -> str:
    """A hash of every configured catalogue file's bytes ("" when there are none)."""
    if not settings.catalogues:
        return ""
    return _digest((name, Path(path)) for name, path in sorted(settings.catalogues.items()))


def _digest(files: Iterable[tuple[str, Path]]) -> str:
    """One hash over each file's label and bytes; a file that cannot be read counts as missing."""
    digest = hashlib.sha256()
    for label, path in files:
        digest.update(label.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing")
    return digest.hexdigest()


def read_menus(
    settings: Settings, previous: Mapping[str, MenuDefinition] | None = None
) -> tuple[dict[str, MenuDefinition], ServiceRouter]:
    """Every menu and catalogue, validated as at start-up; DefinitionError lists every problem.

    Blocking (file reads, parsing): call it in a thread once the server runs.
    """
    from ussd_gateway.application.menus.loading import load_services

    digest = catalogue_digest(settings)
    loaded = load_services(settings, previous)
    fresh = {k: d for k, d in loaded.definitions.items() if k not in loaded.kept}
    definitions = {**loaded.definitions, **stamp(fresh, digest)}  # kept ones are stamped already
    try:
        router = ServiceRouter(
            settings.service_codes, definitions, loaded.disabled, loaded.kept, loaded.fallback
        )
    except ValueError as exc:
        where = str(settings.config_path or "config/gateway.yaml")
        broken = [p for d in loaded.disabled.values() for p in d.problems]
        raise DefinitionError([*broken, Problem(where, "service_codes", str(exc))]) from exc
    return definitions, router


def load_registry(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> MenuRegistry:
    """The registry a process starts with; a broken file disables its service (logged, with
    file and problem); DefinitionError when problems span files or nothing could be served."""
    definitions, router = read_menus(settings)
    for name, disabled in router.disabled.items():
        for problem in disabled.problems:
            log.error("service %s disabled: %s", name, problem)
    for name, broken in router.fallback.items():
        for problem in broken.problems:
            log.warning("%s: %s", plain_list(name, definitions), problem)
    if router.disabled and not definitions:
        raise DefinitionError([p for d in router.disabled.values() for p in d.problems])
    keep = settings.sessions.ttl + settings.sessions.resume_window
    return MenuRegistry(definitions, router, keep=keep, clock=clock.monotonic)


def plain_list(name: str, definitions: Mapping[str, MenuDefinition]) -> str:
    """What a directory's code serves while its file is broken, for the log."""
    screen = definitions[name].screens.get(START)
    listed = [e.service for e in screen.entries] if isinstance(screen, DirectoryScreen) else []
    return f"directory {name} is broken: serving a plain list of {', '.join(listed)} instead"


def files_signature(settings: Settings) -> str:
    """A hash of the names and contents of every menu, directory and catalogue file (blocking)."""
    from ussd_gateway.application.menus.loading import yaml_files

    paths = [*yaml_files(settings), *(Path(p) for p in settings.catalogues.values())]
    return _digest((str(path), path) for path in paths)


class Reloader:
    """Re-reads the menus on demand, one reload at a time, and owns the SIGHUP and file triggers."""

    def __init__(self, settings: Settings, menus: MenuRegistry, config: ReloadConfig) -> None:
        self.settings = settings
        self.menus = menus
        self.config = config
        self.watching = config.watch
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.broadcast: ReloadBroadcast | None = None
        """Set while serving with Redis: other processes reload when this one does."""

    async def reload(self, trigger: str) -> ReloadResult:
        async with self._lock:
            try:
                definitions, router = await asyncio.to_thread(
                    read_menus, self.settings, dict(self.menus.definitions)
                )
            except DefinitionError as exc:
                problems = tuple(str(p) for p in exc.problems)
                for problem in problems:
                    log.error("reload (%s) rejected: %s", trigger, problem)
                log.error(
                    "reload (%s): %d problem(s); still serving the previous menus",
                    trigger,
                    len(problems),
                )
                return ReloadResult(False, trigger, problems)
            except Exception as exc:  # a bug must not take the serving menus down with it
                log.exception("reload (%s) failed; still serving the previous menus", trigger)
                problem = f"reload failed: {type(exc).__name__}: {exc}"
                return ReloadResult(False, trigger, (problem,))
            versions = self.menus.publish(definitions, router)
            disabled = {name: tuple(d.lines()) for name, d in router.disabled.items()}
            kept = {name: tuple(d.lines()) for name, d in router.kept.items()}
            fallback = {name: tuple(d.lines()) for name, d in router.fallback.items()}
            for name, why in disabled.items():
                for problem in why:
                    log.error("reload (%s): service %s disabled: %s", trigger, name, problem)
            for name, why in kept.items():
                for problem in why:
                    log.error(
                        "reload (%s): %s still on its previous version: %s", trigger, name, problem
                    )
            for name, why in fallback.items():
                for problem in why:
                    log.warning(
                        "reload (%s): %s: %s", trigger, plain_list(name, definitions), problem
                    )
            log.info(
                "reload (%s): %s",
                trigger,
                ", ".join(
                    f"{service} {old or '-'} -> {new or '-'}"
                    for service, (old, new) in versions.items()
                )
                or "no services",
            )
            result = ReloadResult(
                not (disabled or kept or fallback),
                trigger,
                versions=versions,
                disabled=disabled,
                kept=kept,
                fallback=fallback,
            )
        if self.broadcast is not None and trigger != PEER and result.published:
            await self.broadcast.announce(result.as_json()["services"])
        return result

    def _spawn(self, trigger: str) -> None:
        task = asyncio.get_running_loop().create_task(self.reload(trigger))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def watch(self, seen: str) -> None:
        """Poll the files; reload when their content changes (a broken save is logged once)."""
        log.info("watching %s for menu changes", self.settings.menus_dir)
        while True:
            await asyncio.sleep(self.config.poll_interval)
            try:
                now = await asyncio.to_thread(files_signature, self.settings)
            except Exception:  # keep watching whatever the file system does
                log.exception("cannot read the menu files")
                continue
            if now != seen:
                seen = now
                await self.reload("file change")

    @contextlib.asynccontextmanager
    async def running(self, redis: aioredis.Redis | None) -> AsyncIterator[None]:
        """While serving: SIGHUP reloads; the watcher runs when asked for; with ``redis`` (the
        process's client), reloads are announced to and heard from the other processes."""
        loop = asyncio.get_running_loop()
        hooked = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self._spawn, "SIGHUP")
            hooked = True
        background: list[asyncio.Task[Any]] = []
        if self.watching:  # the files as served, before the first request can be answered
            seen = await asyncio.to_thread(files_signature, self.settings)
            background.append(loop.create_task(self.watch(seen)))
        if redis is not None:
            self.broadcast = ReloadBroadcast(client=redis)
            background.append(loop.create_task(self.broadcast.listen(self._from_peer)))
        try:
            yield
        finally:
            if hooked:
                loop.remove_signal_handler(signal.SIGHUP)
            tasks = [*background, *self._tasks]
            for task in tasks:
                task.cancel()
            if tasks:  # bounded: shutting down must not wait on a stuck Redis connection
                _, stuck = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
                if stuck:
                    log.warning("%d reload task(s) did not stop in time", len(stuck))
            self.broadcast = None

    async def _from_peer(self) -> None:
        await self.reload(PEER)
