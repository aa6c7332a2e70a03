"""Screen types, one module each; the registry is the menu grammar's list of types."""

from __future__ import annotations

from ussd_gateway.engine.screens.base import Screen
from ussd_gateway.engine.screens.end import EndScreen
from ussd_gateway.engine.screens.fetch import FetchScreen
from ussd_gateway.engine.screens.input import InputScreen
from ussd_gateway.engine.screens.list import ListScreen
from ussd_gateway.engine.screens.lookup import LookupScreen
from ussd_gateway.engine.screens.menu import MenuScreen
from ussd_gateway.engine.screens.router import RouterScreen
from ussd_gateway.engine.screens.submit import SubmitScreen

SCREEN_TYPES: dict[str, type[Screen]] = {
    cls.type_name: cls
    for cls in (
        MenuScreen,
        InputScreen,
        ListScreen,
        RouterScreen,
        SubmitScreen,
        LookupScreen,
        FetchScreen,
        EndScreen,
    )
}

__all__ = ["SCREEN_TYPES", "Screen"]
