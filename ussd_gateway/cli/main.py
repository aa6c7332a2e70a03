"""The ``ussd-gateway`` command; each sub-command lives in ``ussd_gateway.commands``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ussd_gateway.cli.commands import COMMANDS
from ussd_gateway.config.loader import ConfigError


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
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulate"]:  # every option belongs to the emulator: pass them through whole
        from ussd_gateway.cli.emulator import main as emulator_main

        return emulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:  # one line per problem, no traceback: the line says it all
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
