"""``ussd-gateway graph``: draw a service's flow (Mermaid, DOT, or SVG/PNG through Graphviz)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ussd_gateway.application.menus.graph import FORMATS
from ussd_gateway.config.settings import load_settings


def register(commands: Any) -> None:
    graph = commands.add_parser(
        "graph", help="draw a menu file's (or a directory's) flow (mermaid, dot, svg, png)"
    )
    graph.add_argument(
        "file", help="menu file, e.g. menus/mrejesho.yaml, or directory file (menus/directory.yaml)"
    )
    graph.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="default: from the output file's extension (.mmd/.md, .dot/.gv, .svg, .png), "
        "else mermaid",
    )
    graph.add_argument("-o", "--output", default=None, help="write here instead of stdout")
    graph.set_defaults(func=run)


SUFFIXES = {".mmd": "mermaid", ".md": "mermaid", ".dot": "dot", ".gv": "dot"}


def run(args: argparse.Namespace) -> int:
    from ussd_gateway.application.menus.graph import GraphvizMissing, render
    from ussd_gateway.application.menus.loading import load_catalogues
    from ussd_gateway.engine.directory import is_directory_file
    from ussd_gateway.engine.loader import inspect_menu

    fmt = args.format
    if fmt is None and args.output:
        suffix = Path(args.output).suffix.lower()
        fmt = SUFFIXES.get(suffix) or suffix.lstrip(".")
        if fmt not in FORMATS:
            print(f"cannot tell the format from {args.output}: use --format", file=sys.stderr)
            return 2
    fmt = fmt or "mermaid"
    settings = load_settings(args.config)
    catalogues, _ = load_catalogues(settings)
    drawn = None
    if is_directory_file(Path(args.file)):
        definition, problems, drawn = _directory(Path(args.file), settings, catalogues)
    else:
        definition, problems = inspect_menu(
            args.file, catalogues=catalogues, navigation=settings.navigation
        )
    errors = [p for p in problems if p.severity == "error"]
    if definition is None or not definition.screens:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    if errors:
        print(f"{len(errors)} error(s) in the menu; drawing it anyway:", file=sys.stderr)
        for problem in errors:
            print(f"  {problem}", file=sys.stderr)
    try:
        picture = render(definition, fmt, drawn)
    except GraphvizMissing as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).write_bytes(picture)
        print(f"wrote {args.output} ({fmt})", file=sys.stderr)
    else:
        sys.stdout.buffer.write(picture)
        sys.stdout.flush()
    return 0


def _directory(path: Path, settings: Any, catalogues: Any) -> tuple[Any, list[Any], Any]:
    """A directory file with the menu files beside it: its definition, problems and picture."""
    from ussd_gateway.application.menus.graph import directory_flow
    from ussd_gateway.application.menus.loading import menu_files_for_directories, split_files
    from ussd_gateway.engine.directory import inspect_directory
    from ussd_gateway.engine.loader import inspect_menus

    menus, _ = split_files(sorted(path.parent.glob("*.yaml")))
    services, found = inspect_menus(menus, catalogues=catalogues, navigation=settings.navigation)
    by_file, broken = menu_files_for_directories(services, found)
    definition, problems = inspect_directory(path, by_file, broken, settings.navigation)
    if definition is None:
        return None, problems, None
    code = next((c for c, name in settings.service_codes.items() if name == definition.service), "")
    return definition, problems, directory_flow(definition, services, code)
