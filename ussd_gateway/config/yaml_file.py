"""Reading the configuration file: YAML whose mistakes are one line, and no key given twice.

Plain YAML keeps the last of two equal keys without a word, so a second ``sessions:`` would
silently replace the first; here it is a mistake like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ussd_gateway.config.loader import ConfigError


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        line = key_node.start_mark.line + 1
        if isinstance(key, str | int | float | bool) and key in first:
            raise yaml.MarkedYAMLError(
                problem=f"{key}: given twice (first on line {first[key]})",
                problem_mark=key_node.start_mark,
            )
        if isinstance(key, str | int | float | bool):
            first[key] = line
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path) -> Any:
    """The parsed file; ConfigError with one line for a file that cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot be read: {reason}") from exc
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        raise ConfigError(f"{path}: {where}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
