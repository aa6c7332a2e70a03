"""The operators' commands' tables: aligned columns for people (``--json`` is for scripts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any


def when(value: dt.datetime | None) -> str:
    """A time in a table cell: to the second, ``-`` for none."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; the last column is left ragged."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
