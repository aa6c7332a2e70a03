"""One reader for every section of the configuration, from the file and from the environment.

A section is a frozen dataclass: its fields are its keys, and their type hints say what a value
must be: ``str``, ``int``, ``float``, ``bool``, ``Path``, ``Literal[...]``, ``X | None``,
``Mapping[str, X]``, ``tuple[X, ...]``, ``Any``, another section, or an ``Annotated`` one of
those carrying a ``Kind`` (seconds, a URL…) and ``Check``s (``at_least(1)``, ``kinds.py``).
``setting(...)``
adds what a type cannot say: the environment variable that overrides a key, keys the file may
not set, mappings merged over their default, a field collecting the keys nobody declared, or a
reader of its own.

Every problem is one line naming where, which key, what was expected and what was given, and
all of a file's problems are reported together::

    config/gateway.yaml: sessions.ttl: expected seconds, got 'three'
    config/gateway.yaml: sesions: unknown key, did you mean sessions?
    environment: PORT: expected a whole number, got 'http'

Value kinds and their names live in ``kinds.py``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from ussd_gateway.config.kinds import SCALARS, describe, optional, shown, unpack

T = TypeVar("T")

ENVIRONMENT = "environment"
"""Where a value read from an environment variable comes from, in problem lines."""


class ConfigError(ValueError):
    """The configuration cannot be used; one line per problem: ``<where>: <key>: <why>``."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems: tuple[str, ...] = problems


class Invalid(ValueError):
    """Raised by a section's ``__post_init__`` for a value that only its neighbours make wrong;
    the reader reports it under the section's path."""

    def __init__(self, key: str, expected: str, got: Any) -> None:
        super().__init__(f"{key}: expected {expected}, got {shown(got)}")
        self.key = key
        self.expected = expected
        self.got = got


# --------------------------------------------------------------------------- field metadata


@dataclass(frozen=True)
class Setting:
    """What a field's type cannot say about where its value comes from."""

    env: str | None = None
    """An environment variable that, when set and not empty, wins over the file."""
    file: bool = True
    """False: the file may not set it (secrets and accounts come from the environment only)."""
    merge: bool = False
    """A mapping whose entries update the default's (mapping values are merged too); the
    default's keys are the only ones allowed."""
    rest: bool = False
    """This mapping field collects every key the section does not declare."""
    read: Callable[[Reader, Any, str], Any] | None = None
    """A reader of its own: ``read(reader, value, path)``, reporting through ``reader``."""


def setting(
    *,
    env: str | None = None,
    file: bool = True,
    merge: bool = False,
    rest: bool = False,
    read: Callable[[Reader, Any, str], Any] | None = None,
) -> dict[str, Setting]:
    """A field's configuration metadata (see ``Setting``): ``field(metadata=setting(...))``."""
    return {"config": Setting(env, file, merge, rest, read)}


_PLAIN = Setting()


def _setting(item: dataclasses.Field[Any]) -> Setting:
    found = item.metadata.get("config", _PLAIN)
    return found if isinstance(found, Setting) else _PLAIN


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


class _Failed:
    """A value that could not be read; its problem is already recorded."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED: Any = _Failed()


# --------------------------------------------------------------------------- the reader


class Reader:
    """Reads values into typed ones, recording a line per problem instead of stopping at one.

    ``source`` names the file in problem lines; ``env`` is the environment that overrides it;
    relative paths in the file are taken from ``root``. Call ``done`` to raise what was found.
    """

    def __init__(
        self, source: str, env: Mapping[str, str] | None = None, root: Path | None = None
    ) -> None:
        self.source = source
        self.env: Mapping[str, str] = {} if env is None else env
        self.root = root
        self.problems: list[str] = []

    def problem(self, path: str, text: str, *, where: str | None = None) -> Any:
        """Record ``<where>: <path>: <text>``; returns FAILED for the caller to pass on."""
        line = f"{where or self.source}: {path}: {text}"
        if line not in self.problems:
            self.problems.append(line)
        return FAILED

    def wrong(self, path: str, expected: str, got: Any, *, where: str | None = None) -> Any:
        return self.problem(path, f"expected {expected}, got {shown(got)}", where=where)

    def unknown(self, path: str, known: Iterable[str]) -> Any:
        key = path.rsplit(".", 1)[-1]
        names = sorted(known)
        close = difflib.get_close_matches(key, names, n=1)
        if close:
            return self.problem(path, f"unknown key, did you mean {close[0]}?")
        return self.problem(path, "unknown key, expected one of " + ", ".join(names))

    def done(self) -> None:
        if self.problems:
            raise ConfigError(*self.problems)

    def env_value(self, name: str) -> str | None:
        value = self.env.get(name)
        return value if value else None

    # ------------------------------------------------------------------- values

    def value(self, hint: Any, raw: Any, path: str, *, where: str | None = None) -> Any:
        """``raw`` read as ``hint``; FAILED (with a recorded problem) when it is not one.

        A value not of the kind is "expected seconds"; one of the kind failing a check is
        "expected seconds > 0".
        """
        base, kinds, checks = unpack(hint)
        kind = kinds[-1] if kinds else SCALARS.get(base)
        if kind is None:
            result = self._plain(base, raw, path, where)
        else:
            try:
                result = kind.parse(raw)
            except (TypeError, ValueError):
                if kind.show is not None:
                    return self.problem(
                        path, f"expected {kind.expected}, got {kind.show(raw)}", where=where
                    )
                return self.wrong(path, kind.expected, raw, where=where)
            if isinstance(result, Path) and where is None and self.root is not None:
                result = result if result.is_absolute() else self.root / result
        if result is FAILED or result is None:
            return result
        if not all(check.test(result) for check in checks):
            return self.wrong(path, describe(hint), raw, where=where)
        return result

    def _plain(self, hint: Any, raw: Any, path: str, where: str | None) -> Any:
        origin = typing.get_origin(hint)
        inner = optional(hint)
        if inner is not None:
            return None if raw is None else self.value(inner, raw, path, where=where)
        if hint is Any:
            return raw
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            return self.section(hint, raw, path)
        if origin is Literal:
            if isinstance(raw, str | int) and raw in typing.get_args(hint):
                return raw
            return self.wrong(path, describe(hint), raw, where=where)
        if origin in (Mapping, dict):
            return self._mapping(hint, raw, path)
        if origin is tuple:
            return self._tuple(hint, raw, path)
        raise TypeError(f"{path}: no reader for {hint!r}")  # a mistake in a section's code

    def _mapping(self, hint: Any, raw: Any, path: str) -> Any:
        if not isinstance(raw, Mapping):
            return self.wrong(path, "a mapping", raw)
        key_hint, value_hint = typing.get_args(hint)
        result: dict[Any, Any] = {}
        failed = False
        for key, item in raw.items():
            here = join(path, key)
            name = self.value(key_hint, key, here)
            value = self.value(value_hint, item, here)
            if name is FAILED or value is FAILED:
                failed = True
            else:
                result[name] = value
        return FAILED if failed else result

    def _tuple(self, hint: Any, raw: Any, path: str) -> Any:
        args = typing.get_args(hint)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"{path}: only tuple[X, ...] is read")  # a mistake in the code
        if not isinstance(raw, list | tuple):
            return self.wrong(path, describe(hint), raw)
        items = [self.value(args[0], item, f"{path}[{i}]") for i, item in enumerate(raw)]
        return FAILED if any(item is FAILED for item in items) else tuple(items)

    def merged(self, hint: Any, raw: Any, default: Mapping[str, Any], path: str) -> Any:
        """A mapping's entries laid over ``default``'s; only ``default``'s keys are allowed."""
        if not isinstance(raw, Mapping):
            return self.wrong(path, "a mapping", raw)
        _, value_hint = typing.get_args(unpack(hint)[0])
        result = dict(default)
        failed = False
        for key, item in raw.items():
            here = join(path, key)
            if str(key) not in default:
                self.unknown(here, default)
                failed = True
                continue
            value = self.value(value_hint, item, here)
            if value is FAILED:
                failed = True
            elif isinstance(value, Mapping) and isinstance(default[str(key)], Mapping):
                result[str(key)] = {**default[str(key)], **value}
            else:
                result[str(key)] = value
        return FAILED if failed else result

    # ------------------------------------------------------------------- sections

    def section(
        self,
        cls: type[T],
        raw: Any,
        path: str,
        *,
        base: T | None = None,
        given: Mapping[str, Any] | None = None,
        env_names: Mapping[str, str] | None = None,
        siblings: Iterable[str] = (),
    ) -> T:
        """A section from the mapping ``raw`` (None: all defaults).

        Keys left out keep ``base``'s values (else the class defaults); ``given`` supplies
        fields the file does not hold (a backend's name); ``env_names`` adds variables that
        override fields, for names known only at run time (``BACKEND_<NAME>_URL``);
        ``siblings`` are keys of the same mapping read by someone else (named when a key is
        unknown).
        """
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            return typing.cast(T, self.wrong(path or "top level", "a mapping", raw))
        given = dict(given or {})
        fields = [item for item in dataclasses.fields(cls) if item.init]  # type: ignore[arg-type]
        settings = {item.name: _setting(item) for item in fields}
        keys = {name for name, s in settings.items() if s.file and not s.rest} - set(given)
        rest_field = next((name for name, s in settings.items() if s.rest), None)
        rest: dict[str, Any] = {}
        failed = False
        for key in raw:
            if str(key) in keys:
                continue
            variable = settings[str(key)].env if str(key) in settings else None
            if variable and str(key) not in given:
                self.problem(join(path, key), f"expected in the environment as {variable}")
                failed = True
            elif rest_field is not None and str(key) not in settings:
                rest[str(key)] = raw[key]
            else:
                self.unknown(join(path, key), keys | set(siblings))
                failed = True
        values = dict(given)
        if rest_field is not None:
            values[rest_field] = rest
        hints = _hints(cls)
        for item in fields:
            if item.name in values:
                continue
            current = getattr(base, item.name) if base is not None else _default(item)
            value = self._field(
                item, settings[item.name], hints[item.name], raw, path, env_names, current
            )
            if value is FAILED:
                failed = True
            elif value is not _ABSENT:
                values[item.name] = value
            elif base is None and _required(item):
                self.wrong(join(path, item.name), describe(hints[item.name]), None)
                failed = True
        if failed:
            return typing.cast(T, FAILED)
        try:
            if base is not None:
                return dataclasses.replace(base, **values)  # type: ignore[type-var]
            return cls(**values)
        except Invalid as exc:
            return typing.cast(T, self.wrong(join(path, exc.key), exc.expected, exc.got))

    def _field(
        self,
        item: dataclasses.Field[Any],
        meta: Setting,
        hint: Any,
        raw: Mapping[str, Any],
        path: str,
        env_names: Mapping[str, str] | None,
        current: Any,
    ) -> Any:
        """One field's value, or _ABSENT to keep ``current`` (MISSING when it has none)."""
        here = join(path, item.name)
        variable = (env_names or {}).get(item.name) or meta.env
        if variable and self.env_value(variable) is not None:
            return self.value(hint, self.env_value(variable), variable, where=ENVIRONMENT)
        given = raw.get(item.name) if meta.file else None
        if (
            _is_section(hint)
            and meta.read is None
            and (given is None or isinstance(given, Mapping))
        ):
            # read even when absent: its own keys may come from the environment
            return self.section(hint, given, here, base=None if current is MISSING else current)
        if given is None:
            return _ABSENT
        if meta.read is not None:
            return meta.read(self, given, here)
        if meta.merge:
            return self.merged(hint, given, {} if current is MISSING else current, here)
        return self.value(hint, given, here)


def _is_section(hint: Any) -> bool:
    return dataclasses.is_dataclass(hint) and isinstance(hint, type)


_ABSENT: Any = object()


def _required(item: dataclasses.Field[Any]) -> bool:
    return item.default is MISSING and item.default_factory is MISSING


def _default(item: dataclasses.Field[Any]) -> Any:
    """The field's default value; MISSING for a required field."""
    if item.default_factory is not MISSING:
        return item.default_factory()
    return item.default
