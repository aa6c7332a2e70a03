"""Safe YAML loading that remembers line numbers, so problems can point at the exact line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A mapping from a menu file that knows the line it started on and the line of each key.

    A key written twice keeps its last value, as YAML loaders do, but is remembered in
    ``duplicates`` so the validator can say so: a screen pasted twice must not vanish silently.
    """

    line: int | None = None
    key_lines: dict[Any, int]
    duplicates: list[tuple[Any, int]]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (never ``yaml.load``): menu files are data, not code."""


def _construct_mapping(loader: yaml.BaseLoader, node: yaml.MappingNode) -> LineDict:
    if isinstance(loader, yaml.SafeLoader):  # merge keys (<<) are a SafeLoader feature
        loader.flatten_mapping(node)
    pairs = loader.construct_pairs(node, deep=True)
    result = LineDict(pairs)
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.duplicates = []
    for (key, _), (key_node, _) in zip(pairs, node.value, strict=True):
        line = key_node.start_mark.line + 1
        try:
            if key in result.key_lines:
                result.duplicates.append((key, line))
            result.key_lines[key] = line
        except TypeError:  # an unhashable key (a list): the loader already refused it
            continue
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _TextLineLoader(yaml.BaseLoader):
    """Every scalar stays the text written: ``send: 00`` is the entry "00", not the number 0."""


_TextLineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LineLoader)


def load_yaml_text(text: str) -> Any:
    """Like ``load_yaml`` but with every scalar a string (for files of typed entries)."""
    return yaml.load(text, Loader=_TextLineLoader)


def line_of(value: Any) -> int | None:
    return getattr(value, "line", None)


def key_line(mapping: Any, key: Any) -> int | None:
    """The line ``key`` is written on in ``mapping``, else the mapping's own line."""
    lines = getattr(mapping, "key_lines", None)
    if lines and key in lines:
        return lines[key]
    return line_of(mapping)


def duplicate_keys(value: Any) -> Iterator[tuple[Any, int]]:
    """Every key written twice in the same mapping, anywhere in a loaded document."""
    if isinstance(value, LineDict):
        yield from value.duplicates
        for item in value.values():
            yield from duplicate_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from duplicate_keys(item)
