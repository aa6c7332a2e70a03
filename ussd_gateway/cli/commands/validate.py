"""``ussd-gateway validate``: check the configuration and menu files before citizens meet them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ussd_gateway.config.loader import ConfigError
from ussd_gateway.config.settings import Settings, load_settings
from ussd_gateway.engine.definition import Problem


def register(commands: Any) -> None:
    validate = commands.add_parser("validate", help="check menu files; exit 1 on any error")
    validate.add_argument("files", nargs="*", help="menu files (default: every menu)")
    validate.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ussd_gateway.application.menus.loading import (
        load_catalogues,
        menu_files_for_directories,
        split_files,
        yaml_files,
    )
    from ussd_gateway.application.menus.routing import ServiceRouter
    from ussd_gateway.engine.directory import (
        check_extended_codes,
        check_listed,
        inspect_directory,
        listed_files,
    )
    from ussd_gateway.engine.lint import check_codes
    from ussd_gateway.engine.loader import inspect_menus

    settings = _configuration(args.config)
    if settings is None:
        return 1
    catalogues, problems = load_catalogues(settings)
    every = yaml_files(settings)
    files = [Path(f) for f in args.files] or every
    menus, directories = split_files(files)
    every_menu, every_directory = split_files(every) if args.files else (menus, directories)
    definitions, found = inspect_menus(
        menus,
        catalogues=catalogues,
        navigation=settings.navigation,
        sms_max_segments=settings.sms.max_segments,
    )
    problems += found
    listed = listed_files(list(dict.fromkeys([*every_directory, *directories])))
    for definition in definitions.values():  # a directory's footer on a listed start screen
        problems += check_listed(definition, listed)
    if directories:  # a directory lists the menu files beside it, broken or not
        known, seen = (
            (definitions, found)
            if not args.files
            else inspect_menus(every_menu, catalogues=catalogues, navigation=settings.navigation)
        )
        by_file, broken = menu_files_for_directories(known, seen)
        for path in directories:
            directory, wrong = inspect_directory(path, by_file, broken, settings.navigation)
            problems += wrong
            if directory is not None:
                definitions[directory.service] = directory
        problems += check_extended_codes(definitions, settings.service_codes)
    for clash in check_codes(definitions, settings.service_codes, settings.config_path):
        if clash not in problems:
            problems.append(clash)
    from ussd_gateway.application.sms.service_routes import config_clashes

    problems += config_clashes(settings, definitions.values())  # a keyword in sms.keywords too
    if not args.files and not any(p.severity == "error" for p in problems):
        try:
            ServiceRouter(settings.service_codes, definitions)
        except ValueError as exc:
            problems.append(Problem(str(args.config or "config/gateway.yaml"), "-", str(exc)))
    order = {str(f): n for n, f in enumerate(files)}
    problems.sort(key=lambda p: (order.get(p.file, len(order)), p.line or 0))
    for problem in problems:
        print(problem)
    sys.stdout.flush()
    errors = sum(p.severity == "error" for p in problems)
    print(
        f"{len(files)} file(s): {errors} error(s), {len(problems) - errors} warning(s)",
        file=sys.stderr,
    )
    return 1 if errors else 0


def _configuration(path: str | None) -> Settings | None:
    """The settings, backends' own keys checked too; None after printing every problem."""
    from ussd_gateway.adapters.connectors.registry import check_backends

    try:
        settings = load_settings(path)
        check_backends(settings.forwarding)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        sys.stdout.flush()
        print(f"configuration: {len(exc.problems)} error(s)", file=sys.stderr)
        return None
    return settings
