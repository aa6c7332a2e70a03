"""Speculative hops: the engine run on a cached session before anything is locked or read.

The one-trip hop (``ussd_gateway/onetrip.py``) runs the engine first and only then sends one
script that saves the result if the stored session is still the one it started from. That is
safe only while the hop has no effect outside its session: inside ``Speculating()`` the engine
refuses, before it runs, any automatic screen not declared ``pure`` (a submit or a lookup), and
the hop takes the locked path instead.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ussd_gateway.engine.screens.base import Screen

_SPECULATING: ContextVar[bool] = ContextVar("speculating", default=False)


class Speculation(Exception):
    """A speculative hop reached a step with effects outside its session: nothing ran."""


class Speculating:
    """Engine calls inside refuse every automatic screen that is not ``pure`` (a class, not a
    generator context manager: it is entered on most hops)."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _SPECULATING.set(True)

    def __exit__(self, *exc: object) -> None:
        _SPECULATING.reset(self._token)


def refuse_effects(screen: Screen) -> None:
    """Raise ``Speculation`` when speculating and ``screen.run`` could act on the world."""
    if not screen.pure and _SPECULATING.get():
        raise Speculation(f"{screen.type_name} screen {screen.id!r}")
