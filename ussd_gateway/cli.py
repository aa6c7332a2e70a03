"""The ``ussd-gateway`` command: serve, worker, validate, emulate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from ussd_gateway.engine.definition import DefinitionError, Problem
from ussd_gateway.settings import ConfigError, Settings, load_settings


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from ussd_gateway.app import StartupError, create_app

    settings = load_settings(args.config)
    _configure_logging(settings.log_level)
    if not settings.service_codes:
        logging.getLogger("ussd_gateway").warning(
            "no service codes configured (is config/gateway.yaml in %s?): every dial will "
            "get 'service does not exist'",
            Path.cwd(),
        )
    try:
        app = create_app(settings)
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("menus are invalid: not serving", file=sys.stderr)
        return 1
    port = args.port or settings.port
    host = args.host or settings.host
    ready = f"ussd-gateway listening on http://{host}:{port}  (POST /ussd/africastalking)"
    try:
        web.run_app(
            app, host=host, port=port, print=lambda _: print(ready, flush=True), access_log=None
        )
    except StartupError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the port is taken
        print(f"cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Placeholder process for the Procfile: delivery to backends arrives with forwarding."""
    settings = load_settings(args.config)
    _configure_logging(settings.log_level)
    log = logging.getLogger("ussd_gateway.worker")

    async def idle() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("worker started: submissions are stored as pending; no backend delivery yet")
        await stop.wait()
        log.info("worker stopped")

    asyncio.run(idle())
    return 0


def _validate(args: argparse.Namespace) -> int:
    from ussd_gateway.app import load_catalogues, menu_paths
    from ussd_gateway.engine.loader import inspect_menus
    from ussd_gateway.routing import ServiceRouter

    settings = load_settings(args.config)
    catalogues, problems = load_catalogues(settings)
    files = [Path(f) for f in args.files] or menu_paths(settings)
    definitions, found = inspect_menus(files, catalogues=catalogues, navigation=settings.navigation)
    problems += found
    if not args.files and not any(p.severity == "error" for p in problems):
        try:
            ServiceRouter(settings.service_codes, definitions)
        except ValueError as exc:
            problems.append(Problem(str(args.config or "config/gateway.yaml"), "-", str(exc)))
    for problem in problems:
        print(problem)
    sys.stdout.flush()
    errors = sum(p.severity == "error" for p in problems)
    print(
        f"{len(files)} file(s): {errors} error(s), {len(problems) - errors} warning(s)",
        file=sys.stderr,
    )
    return 1 if errors else 0


def _emulate(args: argparse.Namespace) -> int:
    from ussd_gateway.emulator import main as emulator_main

    return emulator_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ussd-gateway", description="USSD gateway for government services."
    )
    parser.add_argument(
        "--config",
        default=None,
        help="gateway configuration (default: $USSD_CONFIG or config/gateway.yaml)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default=None, help="listen address (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=None, help="listen port (default $PORT or 8080)")
    serve.set_defaults(func=_serve)
    worker = commands.add_parser("worker", help="run a background worker")
    worker.set_defaults(func=_worker)
    validate = commands.add_parser("validate", help="check menu files; exit 1 on any error")
    validate.add_argument("files", nargs="*", help="menu files (default: every menu)")
    validate.set_defaults(func=_validate)
    emulate = commands.add_parser("emulate", help="phone emulator (same as ussd-emulator)")
    emulate.add_argument("rest", nargs=argparse.REMAINDER)
    emulate.set_defaults(func=_emulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulate"]:  # every option belongs to the emulator: pass them through whole
        from ussd_gateway.emulator import main as emulator_main

        return emulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["Settings", "main", "os"]
