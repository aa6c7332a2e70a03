"""``ussd-gateway test``: run operators' journey tests (menus/tests/*.yaml) without a server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import Any

from ussd_gateway.config.settings import load_settings


def register(commands: Any) -> None:
    test = commands.add_parser(
        "test", help="run journey tests against the menus in-process; exit 1 on any failure"
    )
    test.add_argument(
        "paths", nargs="*", help="journey files or directories (default: menus/tests)"
    )
    test.add_argument(
        "-v", "--verbose", action="store_true", help="show the gateway's own log lines too"
    )
    test.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ussd_gateway.application.journeys import journey_files, run_files
    from ussd_gateway.application.menus.loading import load_definitions
    from ussd_gateway.engine.definition import DefinitionError, Problem

    if not args.verbose:  # journeys that take the database down on purpose log errors
        logging.getLogger("ussd_gateway").setLevel(logging.CRITICAL)
    settings = load_settings(args.config)
    try:
        definitions = load_definitions(settings)
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem)
        print("menus are invalid: fix them first (ussd-gateway validate)", file=sys.stderr)
        return 1
    default = Path(settings.menus_dir) / "tests"
    with contextlib.suppress(ValueError):
        default = default.relative_to(Path.cwd())
    files = journey_files(args.paths or [default])
    if not files:
        print("no journey files found", file=sys.stderr)
        return 1
    outcomes = asyncio.run(run_files(files, settings, definitions))
    passed = failed = 0
    for outcome in outcomes:
        print(outcome if isinstance(outcome, Problem) else outcome.report(), flush=True)
        if isinstance(outcome, Problem) or not outcome.passed:
            failed += 1
        else:
            passed += 1
    print(f"{len(files)} file(s): {passed} passed, {failed} failed", file=sys.stderr)
    return 1 if failed else 0
