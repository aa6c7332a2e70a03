"""``ussd-gateway emulate``: the terminal phone emulator (same as ``ussd-emulator``)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    emulate = commands.add_parser("emulate", help="phone emulator (same as ussd-emulator)")
    emulate.add_argument("rest", nargs=argparse.REMAINDER)
    emulate.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ussd_gateway.cli.emulator import main as emulator_main

    return emulator_main(args.rest)
