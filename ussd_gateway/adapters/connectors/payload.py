"""A backend's request body as a template over a delivery's fields, shared by every connector.

The shape is JSON-like (mappings, lists, scalars); its strings may be sandboxed Jinja (the
engine's environment: no ``os.environ``, no globals). A string that is exactly ``{{ a.b }}``
keeps the value's type, so ``"{{ data }}"`` stays a mapping. Compiled once at start-up,
rendered per attempt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

from ussd_gateway.config.kinds import Kind
from ussd_gateway.domain.templates import TEMPLATES, is_template

_LONE_EXPRESSION = re.compile(
    r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}$"
)


def _shape(value: Any) -> Any:
    if not isinstance(value, Mapping | list):
        raise TypeError(value)
    return value


SHAPE = Kind("a mapping or a list (the body's shape)", _shape)
"""A backend's ``payload:`` as the configuration reader takes it, before it is compiled."""


class BadTemplate(ValueError):
    """A string of the shape does not compile; ``where`` is its path, e.g. ``payload.text``."""

    def __init__(self, where: str, error: TemplateError) -> None:
        super().__init__(f"{where}: bad template: {error}")
        self.where = where
        self.error = error


class PayloadTemplate:
    def __init__(self, shape: Any, where: str = "payload") -> None:
        self._shape = _compile(shape, where)

    def render(self, variables: Mapping[str, Any]) -> Any:
        return _render(self._shape, variables)


@dataclass(frozen=True, slots=True)
class _Lookup:
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Text:
    compiled: Any


def _compile(node: Any, where: str) -> Any:
    if isinstance(node, Mapping):
        return {str(key): _compile(value, f"{where}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [_compile(item, f"{where}[{i}]") for i, item in enumerate(node)]
    if isinstance(node, str) and is_template(node):
        lone = _LONE_EXPRESSION.match(node.strip())
        if lone:
            return _Lookup(tuple(lone.group(1).split(".")))
        try:
            return _Text(TEMPLATES.from_string(node))
        except TemplateError as exc:
            raise BadTemplate(where, exc) from exc
    return node


def _render(node: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        return {key: _render(value, variables) for key, value in node.items()}
    if isinstance(node, list):
        return [_render(item, variables) for item in node]
    if isinstance(node, _Lookup):
        value: Any = variables
        for part in node.path:
            value = value.get(part) if isinstance(value, Mapping) else None
        return value
    if isinstance(node, _Text):
        return str(node.compiled.render(variables))
    return node
