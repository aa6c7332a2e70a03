"""``ussd-gateway at-sandbox``: a local stand-in for Africa's Talking's SMS API that prints
every SMS the gateway sends (see ``ussd_gateway.sms.standin``)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    from ussd_gateway.http import at_standin as standin

    parser = commands.add_parser(
        "at-sandbox", help="stand-in for Africa's Talking's SMS API that prints what it gets"
    )
    standin.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ussd_gateway.http import at_standin as standin

    return standin.run(args)
