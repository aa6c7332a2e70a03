"""``ussd-gateway serve``: the web server."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from ussd_gateway.adapters.logs import configure_logging
from ussd_gateway.config.settings import load_settings
from ussd_gateway.engine.definition import DefinitionError
from ussd_gateway.http.eventloop import new_event_loop
from ussd_gateway.http.prefork import serve_workers, worker_count


def register(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument(
        "--host",
        default=None,
        help="listen address (default $HOST or 127.0.0.1: this machine only; 0.0.0.0: all)",
    )
    serve.add_argument("--port", type=int, default=None, help="listen port (default $PORT or 8080)")
    workers = serve.add_mutually_exclusive_group()
    workers.add_argument(
        "--no-worker",
        dest="worker",
        action="store_false",
        default=None,
        help="do not deliver submissions from this process (default on SQLite: deliver)",
    )
    workers.add_argument(
        "--with-worker",
        dest="worker",
        action="store_true",
        default=None,
        help="also deliver submissions from this process on PostgreSQL",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="web processes sharing the port (default: CPU count with REDIS_URL, else 1)",
    )
    serve.add_argument(
        "--reload",
        action="store_true",
        help="publish menus again when a menu or catalogue file changes (SIGHUP always does)",
    )
    serve.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from ussd_gateway.application.factory import StartupError
    from ussd_gateway.http.app import create_app

    settings = load_settings(args.config)
    configure_logging(settings.log_level, settings.logging.format)
    if not settings.service_codes:
        logging.getLogger("ussd_gateway").warning(
            "no service codes configured (is config/gateway.yaml in %s?): every dial will "
            "get 'service does not exist'",
            Path.cwd(),
        )
    try:
        app = create_app(settings, worker=args.worker)
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("menus are invalid: not serving", file=sys.stderr)
        return 1
    if args.reload:
        from ussd_gateway.http.menus_admin import enable_watching

        enable_watching(app)
    port = args.port or settings.port
    host = args.host or settings.host
    workers = worker_count(args.workers, redis=bool(settings.redis_url))
    if isinstance(workers, str):
        print(workers, file=sys.stderr)
        return 2
    _warn_if_exposed(settings, host)
    ready = f"ussd-gateway listening on http://{host}:{port}  (POST /ussd/africastalking)"
    if workers > 1:
        return serve_workers(app, host, port, workers, ready)
    try:
        web.run_app(
            app,
            host=host,
            port=port,
            print=lambda _: print(ready, flush=True),
            access_log=None,
            loop=new_event_loop(),
        )
    except StartupError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the port is taken
        print(f"cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _warn_if_exposed(settings: Any, host: str) -> None:
    """The tester's simulator lets anyone set a number's language and walk every menu: say so
    loudly when it can be reached from other machines (open webhooks are named by the guard)."""
    if not settings.simulator.enabled or _loopback(host):
        return
    logging.getLogger("ussd_gateway").warning(
        "the browser simulator is on and %s is open to other machines: anyone who reaches it "
        "can use GET /simulator; set ENV=production (or simulator.enabled: false) to turn it off",
        host,
    )


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False
