"""Kinds of configuration values: how each is read from YAML or a variable, what it is called.

A kind the type alone cannot say (seconds, a network, an http(s) URL) is a ``Kind`` carried in
``Annotated``, with ``Check``s on the value once read::

    ttl: Annotated[float, SECONDS, above(0)] = 180.0   # "expected seconds > 0, got -1"
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union


@dataclass(frozen=True)
class Kind:
    """A kind of value YAML cannot say by itself: what to call it, and how to read it."""

    expected: str
    parse: Callable[[Any], Any]
    """Raises ValueError or TypeError for a value that is not of this kind."""
    show: Callable[[Any], str] | None = None
    """How a wrong value appears in a problem line, when ``shown`` would reveal a secret."""


@dataclass(frozen=True)
class Check:
    """A condition on a value once read, e.g. ``≥ 1``."""

    text: str
    test: Callable[[Any], bool]


def at_least(low: float) -> Check:
    return Check(f"≥ {low:g}", lambda value: value >= low)


def above(low: float) -> Check:
    return Check(f"> {low:g}", lambda value: value > low)


def below(high: float) -> Check:
    return Check(f"< {high:g}", lambda value: value < high)


def between(low: float, high: float) -> Check:
    return Check(f"from {low:g} to {high:g}", lambda value: low <= value <= high)


NOT_EMPTY = Check("that is not empty", lambda value: bool(value.strip()))
"""For text: something besides spaces."""


def one_of(*choices: str, fold: bool = False) -> Kind:
    """Text that must be one of ``choices`` (compared case-insensitively with ``fold``)."""

    def parse(value: Any) -> str:
        text = as_text(value)
        text = text.lower() if fold else text
        wanted = {c.lower() if fold else c: c for c in choices}
        if text not in wanted:
            raise ValueError(text)
        return wanted[text]

    return Kind("one of " + ", ".join(choices), parse)


# --------------------------------------------------------------------------- scalar kinds


def as_text(value: Any) -> str:
    """Text, or a number written without quotes (a code, an id) as its text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a code or an id written without quotes
    raise TypeError(value)


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise ValueError(value)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, str):
        value = float(value.strip())
    if not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(value)
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


_DURATION = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))\s*([smhd]?)", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(value: Any) -> float:
    """A number of seconds, or text such as ``90s``, ``5m``, ``2h``, ``3d``."""
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if not match:
            raise ValueError(value)
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    return _number(value)


SECONDS = Kind("seconds", _seconds)
"""A duration: a number of seconds, or text with a unit (``90s``, ``5m``, ``2h``, ``3d``)."""


def _without_password(value: Any) -> str:
    """A URL as a problem line may show it: a password in it is replaced by ``***``."""
    return shown(
        re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", value) if isinstance(value, str) else value
    )


def _url_of(*schemes: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = as_text(value).strip()
        scheme, separator, rest = text.partition("://")
        if not separator or scheme.lower() not in schemes or not rest:
            raise ValueError(text)
        return text

    return parse


DATABASE_URL = Kind(
    "a SQLite or PostgreSQL URL (sqlite:///var/gateway.db, postgresql://user@host/db)",
    _url_of("sqlite", "sqlite+aiosqlite", "postgres", "postgresql", "postgresql+asyncpg"),
    _without_password,
)
"""Only the databases the gateway is tested on; MySQL and others fail here, not at first use."""


def _redis_url(value: Any) -> str:
    """A Redis URL whose topology can be built: Sentinel's names its service, every host list
    has a host."""
    text = _url_of("redis", "rediss", "unix", "redis+sentinel", "redis+cluster")(value)
    scheme, _, rest = text.partition("://")
    if scheme.lower() in {"redis+sentinel", "redis+cluster"}:
        hosts, _, path = rest.rpartition("@")[2].partition("/")
        if any(not host.strip() or host.strip().startswith(":") for host in hosts.split(",")):
            raise ValueError(text)
        if scheme.lower() == "redis+sentinel" and not path.strip("/"):
            raise ValueError(text)
    return text


REDIS_URL = Kind(
    "a Redis URL (redis://host:6379/0, rediss://…, unix:///path,"
    " redis+sentinel://h1:26379,h2:26379/<service>/<db>, redis+cluster://h1:7000,h2:7001,…)",
    _redis_url,
    _without_password,
)
"""The URL's scheme chooses the topology: one server, Sentinel or Redis Cluster."""

SCALARS: Mapping[Any, Kind] = {
    str: Kind("text", as_text),
    int: Kind("a whole number", _whole),
    float: Kind("a number", _number),
    bool: Kind("true or false", _flag),
    Path: Kind("a path", lambda value: Path(as_text(value))),
}


# --------------------------------------------------------------------------- naming them


def unpack(hint: Any) -> tuple[Any, list[Kind], list[Check]]:
    """``Annotated[float, SECONDS, above(0)]`` → ``(float, [SECONDS], [above(0)])``."""
    if typing.get_origin(hint) is Annotated:
        extras = hint.__metadata__
        kinds = [e for e in extras if isinstance(e, Kind)]
        return hint.__origin__, kinds, [e for e in extras if isinstance(e, Check)]
    return hint, [], []


def optional(hint: Any) -> Any | None:
    """``X`` for ``X | None``; None for anything else."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) == 1 and len(typing.get_args(hint)) == 2:
            return others[0]
    return None


def describe(hint: Any) -> str:
    """What a value of ``hint`` is called in problem lines: ``seconds > 0``."""
    base, kinds, checks = unpack(hint)
    if kinds:
        text = kinds[-1].expected
    elif (inner := optional(base)) is not None:
        text = describe(inner)
    elif typing.get_origin(base) is Literal:
        text = "one of " + ", ".join(str(arg) for arg in typing.get_args(base))
    elif dataclasses.is_dataclass(base) or typing.get_origin(base) in (Mapping, dict):
        text = "a mapping"
    elif typing.get_origin(base) is tuple:
        text = "a list"
    elif base in SCALARS:
        text = SCALARS[base].expected
    else:
        text = "a value"
    return " ".join([text, " and ".join(check.text for check in checks)]) if checks else text


def shown(value: Any) -> str:
    """A value as a problem line shows it: short, on one line."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:59] + "…")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)[:60]
