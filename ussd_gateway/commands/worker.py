"""``ussd-gateway worker``: the Procfile's background process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from ussd_gateway.logs import configure_logging, log_format
from ussd_gateway.settings import load_settings


def register(commands: Any) -> None:
    worker = commands.add_parser("worker", help="run a background worker")
    worker.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Placeholder process for the Procfile: delivery to backends arrives with forwarding."""
    settings = load_settings(args.config)
    configure_logging(settings.log_level, log_format(settings.env, settings.section("logging")))
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
