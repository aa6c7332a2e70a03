"""The process's one Redis client: short timeouts, so a dead Redis ends a hop politely in time.

Every component that uses Redis (sessions, the guard's counters, the reload broadcast) gets this
client from the application factory; none opens its own.

``REDIS_URL`` chooses the topology, each on redis-py's own client:

- ``redis://host:port/db``, ``rediss://…``, ``unix:///path``: one server;
- ``redis+sentinel://h1:26379,h2:26379/<service>/<db>``: the primary Sentinel names for
  ``service``; after a failover the pool's connections go to the new primary;
- ``redis+cluster://h1:7000,h2:7001``: Redis Cluster, discovered from these seed nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

TIMEOUT = 0.5
"""Seconds a connect or a command may take: well inside an aggregator's reply deadline."""

SENTINEL = "redis+sentinel"
CLUSTER = "redis+cluster"


@dataclass(frozen=True, slots=True)
class Topology:
    """What ``REDIS_URL`` names, without its password: shown by ``/readyz``."""

    kind: str
    """``single``, ``sentinel`` or ``cluster``."""
    nodes: tuple[str, ...]
    """host:port of the server, the sentinels or the seed nodes."""
    service: str | None = None
    """Sentinel's name for the primary."""
    db: int = 0

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"kind": self.kind, "nodes": list(self.nodes)}
        if self.service is not None:
            described["service"] = self.service
        return described


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    """``h1:p1,h2:p2`` (credentials stripped) as (host, port) pairs."""
    hosts = netloc.rpartition("@")[2]
    pairs = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item, "", "")
        if not host:
            raise ValueError(f"no host in {item!r}")
        pairs.append((host.strip("[]"), int(port) if port else default_port))
    if not pairs:
        raise ValueError("no hosts")
    return pairs


def _credentials(netloc: str) -> dict[str, str]:
    userinfo, at, _ = netloc.rpartition("@")
    if not at:
        return {}
    user, colon, password = userinfo.partition(":")
    found = {"password": unquote(password)} if colon else {"password": unquote(user)}
    if colon and user:
        found["username"] = unquote(user)
    return found


def topology(url: str) -> Topology:
    """The topology ``url`` names (``ValueError`` when it names none)."""
    scheme = url.partition("://")[0].lower()
    parts = urlsplit(url)
    if scheme == SENTINEL:
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise ValueError("a Sentinel URL names the service: redis+sentinel://h:26379/<service>")
        hosts = _hosts(parts.netloc, 26379)
        db = int(path[1]) if len(path) > 1 else 0
        return Topology("sentinel", tuple(f"{h}:{p}" for h, p in hosts), unquote(path[0]), db)
    if scheme == CLUSTER:
        hosts = _hosts(parts.netloc, 6379)
        return Topology("cluster", tuple(f"{h}:{p}" for h, p in hosts))
    if scheme == "unix":
        return Topology("single", (parts.path,))
    return Topology("single", (f"{parts.hostname}:{parts.port or 6379}",))


def _options() -> dict[str, Any]:
    return {
        "socket_timeout": None,
        "socket_connect_timeout": TIMEOUT,
        "health_check_interval": 30,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }


def connect(url: str) -> aioredis.Redis | RedisCluster:
    """A client for ``url``; nothing is contacted until the first command.

    Commands are timed by their callers (``asyncio.timeout(TIMEOUT)``), not by the socket: with a
    socket timeout redis-py runs every write as a task of its own and times every read, which
    under load cost the hop path more than the commands themselves. One immediate retry on a
    dropped connection (a pooled connection left over from before a Redis restart), none on a
    timeout: a slow Redis must not double a hop's wait.
    """
    found = topology(url)
    netloc = urlsplit(url).netloc
    if found.kind == "sentinel":
        credentials = _credentials(netloc)
        sentinel = Sentinel(
            _hosts(netloc, 26379),
            sentinel_kwargs={"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT},
            **_options(),
        )
        assert found.service is not None
        return sentinel.master_for(found.service, db=found.db, **credentials)
    if found.kind == "cluster":
        options = _options()
        del options["health_check_interval"]
        return RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in _hosts(netloc, 6379)],
            **_credentials(netloc),
            **options,
        )
    return aioredis.from_url(url, **_options())


def is_cluster(client: object) -> bool:
    """Whether ``client`` spreads keys over slots (each script call must stay on one)."""
    return isinstance(client, RedisCluster)
