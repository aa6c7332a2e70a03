"""``REDIS_URL`` names the topology: what each URL builds, and URLs refused at start-up."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from tests.conftest import project_settings
from ussd_gateway.adapters.redis.client import connect, topology
from ussd_gateway.config.settings import ConfigError


def test_each_scheme_names_its_topology() -> None:
    assert topology("redis://10.0.0.1:6380/2").describe() == {
        "kind": "single",
        "nodes": ["10.0.0.1:6380"],
    }
    sentinel = topology("redis+sentinel://:pw@s1:26379,s2/gateway/3")
    assert sentinel.describe() == {
        "kind": "sentinel",
        "nodes": ["s1:26379", "s2:26379"],
        "service": "gateway",
    }
    assert sentinel.db == 3
    assert topology("redis+cluster://u:pw@c1:7000,c2:7001").describe() == {
        "kind": "cluster",
        "nodes": ["c1:7000", "c2:7001"],
    }


async def test_each_scheme_builds_redis_pys_own_client() -> None:
    single = connect("redis://127.0.0.1:6379/0")
    sentinel = connect("redis+sentinel://127.0.0.1:26379/gateway/1")
    cluster = connect("redis+cluster://127.0.0.1:7000")
    try:
        assert type(single) is Redis and isinstance(cluster, RedisCluster)
        assert sentinel.connection_pool.service_name == "gateway"
    finally:
        for client in (single, sentinel, cluster):
            await client.aclose()


@pytest.mark.parametrize(
    "url",
    ["redis+sentinel://s1:26379", "redis+sentinel://s1:26379/", "redis+cluster://,c2:7000"],
)
def test_a_topology_url_missing_a_part_is_one_clear_line(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        project_settings(env={"REDIS_URL": url})
    (problem,) = raised.value.problems
    assert problem.startswith("environment: REDIS_URL: expected a Redis URL (")
