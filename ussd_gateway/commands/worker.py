"""``ussd-gateway worker``: delivers stored submissions to their backends (the Procfile's)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from ussd_gateway.logs import configure_logging, log_format
from ussd_gateway.settings import load_settings


def register(commands: Any) -> None:
    worker = commands.add_parser("worker", help="deliver submissions to their backends")
    worker.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from ussd_gateway.db.engine import create_engine, create_sessionmaker
    from ussd_gateway.db.migrate import upgrade
    from ussd_gateway.forwarding.config import load_forwarding
    from ussd_gateway.forwarding.worker import DeliveryWorker

    settings = load_settings(args.config)
    configure_logging(settings.log_level, log_format(settings.env, settings.section("logging")))
    config = load_forwarding(settings)

    async def work() -> int:
        engine = create_engine(settings.database_url)
        try:
            try:
                await upgrade(engine)
            except (OSError, SQLAlchemyError) as exc:
                where = engine.url.render_as_string(hide_password=True)
                print(
                    f"cannot start: database {where} unusable: {exc}".splitlines()[0],
                    file=sys.stderr,
                )
                return 1
            worker = DeliveryWorker(config, create_sessionmaker(engine), settings.env)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, worker.stop)
            await worker.run()
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(work())
