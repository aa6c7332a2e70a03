"""One reload, every process: processes sharing Redis tell each other to reload their menus.

``POST /admin/reload`` reaches one process behind the load balancer. Were the others left on
the old menus, a session started on the new version at one process and continued at another
would not find its version there. After a successful reload a process publishes on a Redis
channel; every other process subscribed to it reloads from its own files (a no-op when they
did not change). Best effort: while Redis is down the listener retries quietly, and SIGHUP or
``--reload`` still work per process. Through Sentinel the channel is on the primary it names;
on a cluster, on any one node (see ``_pubsub``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CHANNEL = "ussd:menus:reload"
RETRY_AFTER = 1.0
SUBSCRIBE_TIMEOUT = 5.0


class ReloadBroadcast:
    """Publishes this process's reloads and hands other processes' reloads to ``on_peer``."""

    def __init__(self, *, client: aioredis.Redis | RedisCluster, channel: str = CHANNEL) -> None:
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._client = client
        """The process's client: the subscription holds one connection of its pool."""
        self._failures = 0

    def _pubsub(self) -> Any:
        """A subscription: on a cluster on one node, another after each failure.

        A cluster forwards every ``PUBLISH`` to all its nodes, so any live node hears the
        channel. redis-py's cluster pub/sub would pick the node serving the channel's slot from
        the client's map of the cluster, which nothing refreshes while only pub/sub runs: after
        that node dies it would try the dead node for ever. Going round the nodes the client
        knows (primaries and replicas) reaches a live one within a few retries.
        """
        if isinstance(self._client, RedisCluster):
            nodes = self._client.get_nodes()
            if nodes:
                node = nodes[self._failures % len(nodes)]
                return self._client.pubsub(node=node, ignore_subscribe_messages=True)
        return self._client.pubsub(ignore_subscribe_messages=True)

    async def announce(self, versions: dict[str, Any]) -> None:
        message = json.dumps({"origin": self.origin, "versions": versions})
        try:
            await asyncio.wait_for(self._client.publish(self.channel, message), timeout=1.0)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("could not tell other processes to reload: %s", exc)

    async def listen(self, on_peer: Callable[[], Awaitable[object]]) -> None:
        """Run until cancelled: call ``on_peer`` for every reload another process announces."""
        failing = False
        current = asyncio.current_task()
        while True:
            pubsub = self._pubsub()
            try:
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT):  # the client's sockets have none
                    await pubsub.subscribe(self.channel)
                if failing:
                    log.info("reload channel available again")
                    failing = False
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    _stop_if_cancelled(current)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        origin = json.loads(message["data"]).get("origin")
                    except (ValueError, AttributeError):
                        continue
                    if origin != self.origin:
                        await on_peer()
            except (RedisError, OSError) as exc:
                _stop_if_cancelled(current)
                self._failures += 1
                if not failing:  # once per outage, not once a second
                    log.warning("reload channel unavailable (%s); retrying", exc)
                    failing = True
                await asyncio.sleep(RETRY_AFTER)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()


def _stop_if_cancelled(task: asyncio.Task[Any] | None) -> None:
    """Honour a cancellation that a client-side timeout turned into an error or a None.

    Python 3.11's ``asyncio.timeout`` can report an outside cancel as ``TimeoutError``, which
    the retry loop would otherwise take for a Redis outage and keep the task running.
    """
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
