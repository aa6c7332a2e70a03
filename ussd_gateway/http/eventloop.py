"""The event loop a server process runs on: uvloop when installed (extra ``fast``), else asyncio."""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A fresh loop; uvloop's is faster at sockets and timers and changes nothing else."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
