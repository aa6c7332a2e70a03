"""The sandboxed template environment every text template renders in: menus and payloads.

Kept apart from the engine so the connectors that render backend payloads use the very same
sandbox as menu texts, without importing the engine.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _make_environment() -> ImmutableSandboxedEnvironment:
    """A template environment that can see only the variables it is given.

    No globals (no ``range``, ``lipsum``, ``namespace``...), no loader (no files), an immutable
    sandbox (templates cannot call methods that change data): a menu author can format what the
    citizen entered and nothing else, so a menu file can never read the environment or disk.
    """
    env = ImmutableSandboxedEnvironment(
        autoescape=False,
        undefined=Undefined,
        keep_trailing_newline=False,
        cache_size=0,
        finalize=_plain,
    )
    env.globals.clear()
    return env


PLAIN_TYPES = (str, int, float, bool, type(None), Undefined)


def _plain(value: Any) -> Any:
    """Print only plain values: a forgotten ``()`` must not show a citizen ``<built-in ...>``."""
    return value if isinstance(value, PLAIN_TYPES) else ""


TEMPLATES = _make_environment()


def is_template(source: str) -> bool:
    return "{{" in source or "{%" in source
