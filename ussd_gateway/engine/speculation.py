"""Speculative hops: the engine run on a cached session before anything is locked or read.

The one-trip hop (``ussd_gateway/onetrip.py``) runs the engine first and only then sends one
script that saves the result if the stored session is still the one it started from. That is
safe only while the hop has no effect outside its session: inside ``speculating()`` the engine
refuses, before it runs, any automatic screen not declared ``pure`` (a submit or a lookup), and
the hop takes the locked path instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ussd_gateway.engine.screens.base import Screen

_SPECULATING: ContextVar[bool] = ContextVar("speculating", default=False)


class Speculation(Exception):
    """A speculative hop reached a step with effects outside its session: nothing ran."""


@contextmanager
def speculating() -> Iterator[None]:
    """Engine calls inside refuse every automatic screen that is not ``pure``."""
    token = _SPECULATING.set(True)
    try:
        yield
    finally:
        _SPECULATING.reset(token)


def refuse_effects(screen: Screen) -> None:
    """Raise ``Speculation`` when speculating and ``screen.run`` could act on the world."""
    if not screen.pure and _SPECULATING.get():
        raise Speculation(f"{screen.type_name} screen {screen.id!r}")
