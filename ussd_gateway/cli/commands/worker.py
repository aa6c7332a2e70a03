"""``ussd-gateway worker``: delivers stored submissions and sends queued SMS (the Procfile's)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from ussd_gateway.adapters.logs import configure_logging
from ussd_gateway.config.settings import load_settings


def register(commands: Any) -> None:
    worker = commands.add_parser(
        "worker", help="deliver submissions to their backends and send queued SMS"
    )
    worker.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from ussd_gateway.adapters.db.engine import create_engine, create_sessionmaker
    from ussd_gateway.adapters.db.migrate import upgrade
    from ussd_gateway.adapters.outbox.senders.delivery import DeliverySender
    from ussd_gateway.adapters.outbox.senders.sms import SmsSender
    from ussd_gateway.adapters.outbox.worker import Worker, run_together

    settings = load_settings(args.config)
    configure_logging(settings.log_level, settings.logging.format)
    config = settings.forwarding
    sms = settings.sms

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
            sessionmaker = create_sessionmaker(engine)
            workers = [
                Worker(DeliverySender(config, sms), sessionmaker),
                Worker(SmsSender(sms), sessionmaker),
            ]

            def stop() -> None:
                for worker in workers:
                    worker.stop()

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop)
            await run_together(workers)  # a configuration mistake: raised, the CLI reports it
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(work())
