"""``ussd-gateway demo-backend``: a local feedback intake to watch submissions arrive."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ussd_gateway.adapters.logs import configure_logging
from ussd_gateway.config.settings import load_settings


def register(commands: Any) -> None:
    demo = commands.add_parser("demo-backend", help="a local feedback intake for demos and tests")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8090)
    demo.add_argument(
        "--gateway",
        default=None,
        help="where status reports go (default http://127.0.0.1:$PORT or 8080)",
    )
    demo.add_argument("--backend", default="feedback", help="backend name whose credentials to use")
    demo.add_argument("--token", default=None, help="default: the backend's token (env or config)")
    demo.add_argument("--secret", default=None, help="default: the backend's secret")
    demo.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from ussd_gateway.http.demo_backend import PATHS, Credentials, create_demo_backend

    settings = load_settings(args.config)
    configure_logging(settings.log_level, settings.logging.format)
    backend = settings.forwarding.backend(args.backend)
    token = args.token if args.token is not None else backend.token if backend else None
    secret = args.secret if args.secret is not None else backend.secret if backend else None
    gateway = args.gateway or f"http://127.0.0.1:{settings.port}"
    others = {
        name: Credentials(config.token, config.secret)
        for name in PATHS
        if name != args.backend and (config := settings.forwarding.backend(name)) is not None
    }
    app = create_demo_backend(
        token=token, secret=secret, gateway=gateway, backend=args.backend, others=others
    )
    paths = {args.backend: Credentials(token, secret), **others}
    ready = f"demo backend on http://{args.host}:{args.port} (GET /stats): " + ", ".join(
        f"/{name} ({_checks(credentials)})" for name, credentials in paths.items()
    )
    try:
        web.run_app(
            app,
            host=args.host,
            port=args.port,
            print=lambda _: print(ready, flush=True),
            access_log=None,
        )
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _checks(credentials: Any) -> str:
    checks = [
        n for n, v in (("bearer token", credentials.token), ("HMAC", credentials.secret)) if v
    ]
    return "checks " + " and ".join(checks) if checks else "no auth"
