"""The Redis a benchmark writes its sessions and rate counters to.

By default a private ``redis-server`` on a free 127.0.0.1 port, gone when the benchmark ends:
a benchmark's keys must never mix with anyone's data, nor a rerun meet the last run's
sessions. A Redis named by URL is used only when its database is empty.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import redis

from benchmarks.compare import redis_server


@contextlib.contextmanager
def benchmark_redis(url: str | None) -> Iterator[str]:
    """``url`` once checked empty, else a private server's URL for the ``with`` block."""
    if url is not None:
        refuse_unless_empty(url)
        yield url
        return
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with (
        tempfile.TemporaryDirectory(prefix="ussd-bench-redis-") as tmp,
        redis_server(Path(tmp)) as (port, _pid),
    ):
        yield f"redis://127.0.0.1:{port}/0"


def refuse_unless_empty(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = int(client.dbsize())
    finally:
        client.close()
    if keys:
        raise SystemExit(
            f"{_without_password(url)} holds {keys} key(s): a benchmark writes sessions and "
            "counters there, so it needs an empty database (or no URL: a private redis-server)"
        )


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://***@{host}" if at and credentials else url
