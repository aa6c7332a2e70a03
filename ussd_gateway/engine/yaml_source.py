"""Safe YAML loading that remembers line numbers, so problems can point at the exact line."""

from __future__ import annotations

from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A mapping from a menu file that knows the line it started on."""

    line: int | None = None


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (never ``yaml.load``): menu files are data, not code."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict(loader.construct_pairs(node, deep=True))
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LineLoader)


def line_of(value: Any) -> int | None:
    return getattr(value, "line", None)
