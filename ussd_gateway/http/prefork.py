"""``serve --workers N``: N forked web processes sharing one port, supervised by their parent.

One Python process uses one core; the session store (Redis) is what lets any process answer any
hop, so a machine's cores are used by forking. The parent binds one ``SO_REUSEPORT`` listening
socket per child before forking it (so a taken port is reported once, by the parent) and the
kernel spreads connections over them. Each child runs its own copy of the application, opening
its own Redis and database connections at start-up. The parent forwards SIGTERM/SIGINT to every
child, waits for them to finish their requests, and restarts a child that dies unexpectedly; a
child that fails while starting (e.g. an unusable database) stops the whole server instead of
being restarted in a loop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1

STARTUP_GRACE = 5.0
"""A child dying sooner than this after its start is a start-up failure, not a crash."""


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def listening_socket(host: str, port: int, *, backlog: int = 1024) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT, so every child can have its own on one port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class _Child:
    pid: int
    started: float


class Supervisor:
    """Forks ``workers`` children running ``serve(sock)`` and keeps that many alive until told
    to stop.

    ``serve`` runs in the child with its own listening socket and must return when the child
    receives SIGTERM (``aiohttp.web.run_app`` does); its return value is the child's exit
    status.
    """

    def __init__(
        self,
        serve: Callable[[socket.socket], int],
        *,
        host: str,
        port: int,
        workers: int,
        shutdown_timeout: float = 30.0,
        started: Callable[[], None] | None = None,
    ) -> None:
        self.serve = serve
        self.host = host
        self.port = port
        self.workers = workers
        self.shutdown_timeout = shutdown_timeout
        self.started = started
        """Called once every child has been forked (prints the ready line)."""
        self.children: dict[int, _Child] = {}
        self.stopping = False
        self.failed = False

    def run(self) -> int:
        """Start the children and supervise them; the exit status for the command."""
        probe = listening_socket(self.host, self.port)  # fails here, once, if the port is taken
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self._spawn(probe)
            for _ in range(self.workers - 1):
                self._spawn()
            if self.started is not None:
                self.started()
            self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop_children()
        return 1 if self.failed else 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("received %s: stopping %d workers", signal.Signals(signum).name, self.workers)
        self.stopping = True

    def _spawn(self, sock: socket.socket | None = None) -> None:
        sock = sock or listening_socket(self.host, self.port)
        pid = os.fork()
        if pid == 0:  # the child: default signals (run_app installs its own), serve, exit
            status = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                # Signals reach the parent only (a terminal's Ctrl-C goes to the whole group), so
                # each child is told to stop once; it stops too if the parent is killed.
                os.setpgid(0, 0)
                _die_with_parent()
                status = self.serve(sock)
            except BaseException:
                log.exception("worker %d crashed", os.getpid())
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        sock.close()  # the child's now: no copy here, so a dead child's socket stops accepting
        self.children[pid] = _Child(pid, time.monotonic())

    def _supervise(self) -> None:
        while not self.stopping:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if pid == 0:
                time.sleep(0.2)
                continue
            child = self.children.pop(pid, None)
            if child is None or self.stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if time.monotonic() - child.started < STARTUP_GRACE:
                print(f"worker {pid} failed to start (exit {code}): stopping", file=sys.stderr)
                self.failed = True
                self.stopping = True
                return
            log.error("worker %d exited (%s): starting another", pid, code)
            self._spawn()

    def _stop_children(self) -> None:
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                self.children.pop(pid, None)
        deadline = time.monotonic() + self.shutdown_timeout
        while self.children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                break
            if pid:
                self.children.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in list(self.children):
            log.warning("worker %d did not stop in %.0fs: killing it", pid, self.shutdown_timeout)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.children.clear()


def worker_count(requested: int | None, *, redis: bool) -> int | str:
    """How many web processes to run, or a one-line reason why the request cannot be served.

    Sessions in the in-process store live in one process, so more than one needs Redis.
    """
    if requested is None:
        return max(1, len(os.sched_getaffinity(0))) if redis else 1
    if requested < 1:
        return "--workers must be 1 or more"
    if requested > 1 and not redis:
        return (
            f"--workers {requested} needs REDIS_URL: the in-process session store lives in one "
            "process, so hops of one session could reach another; run one worker or set REDIS_URL"
        )
    return requested


def serve_workers(app: Any, host: str, port: int, workers: int, ready: str) -> int:
    """Run ``app`` in ``workers`` supervised child processes; the command's exit status."""
    from aiohttp import web
    from aiohttp.web_runner import GracefulExit

    from ussd_gateway.adapters.observe.multiproc import shared_metrics
    from ussd_gateway.application.factory import StartupError
    from ussd_gateway.http.eventloop import new_event_loop

    def serve(sock: socket.socket) -> int:
        try:
            web.run_app(app, sock=sock, print=None, access_log=None, loop=new_event_loop())
        except StartupError as exc:
            print(f"cannot start: {exc}", file=sys.stderr, flush=True)
            return 1
        except GracefulExit:  # a second stop signal arrived while cleaning up
            pass
        return 0

    supervisor = Supervisor(
        serve,
        host=host,
        port=port,
        workers=workers,
        started=lambda: print(f"{ready}  [{workers} workers]", flush=True),
    )
    try:
        with shared_metrics(workers):
            status = supervisor.run()
    except OSError as exc:  # e.g. the port is taken
        print(f"cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return status
