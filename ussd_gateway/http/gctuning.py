"""Garbage collection tuned for a server whose start-up objects live as long as the process.

Menus, compiled templates, SQLAlchemy's tables and caches, the Redis and aiohttp machinery: all
are made once at start-up and never freed, yet every full collection walks them again (a
pause of milliseconds, straight into the tail latency of whichever hops are in flight).
``gc.freeze()`` once started moves them out of the collector's sight; a higher first threshold
makes young collections rarer (a hop allocates many short-lived objects that reference
counting frees anyway). Cycles are still collected.
"""

from __future__ import annotations

import gc

from aiohttp import web

YOUNG_THRESHOLD = 50_000
"""Allocations between young collections (CPython's default: 700)."""


async def freeze_startup_objects(app: web.Application) -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def setup_gc(app: web.Application) -> None:
    """Freeze what start-up made, once every start-up hook (connections, stores) has run."""
    app.on_startup.append(freeze_startup_objects)
