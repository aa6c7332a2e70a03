"""The multiplexer takes over sockets from the event loop's transports: its tests run on both
loops the gateway may use (asyncio, and uvloop when installed, as servers run); the other
tests here on asyncio's, as everywhere else."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import pytest


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Any] = {"asyncio": asyncio.new_event_loop}
    if "test_multiplex" not in item.nodeid:
        return factories
    try:
        import uvloop
    except ImportError:
        return factories
    factories["uvloop"] = uvloop.new_event_loop
    return factories
