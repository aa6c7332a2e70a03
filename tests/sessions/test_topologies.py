"""Sessions on replicated Redis: Sentinel and Redis Cluster, real servers started here, and a
primary killed mid-test. The gateway is never restarted: the same ``REDIS_URL`` follows."""

from __future__ import annotations

import asyncio
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import ResponseError

from tests.conftest import project_settings
from tests.support.databases import TEST_DATABASE_URL_ENV, _postgresql_database
from tests.support.phone import Phone
from tests.support.redis_topology import Cluster, Sentinel
from tests.support.serve import ServeProcesses, Server
from tests.test_journeys import give_feedback
from tests.test_reload import Project, reload, versions
from ussd_gateway.adapters.broadcast import CHANNEL
from ussd_gateway.adapters.limits import Once, RedisLimitState
from ussd_gateway.adapters.redis.batcher import Batcher
from ussd_gateway.adapters.redis.client import connect
from ussd_gateway.http.app import create_app

ENTRIES = ["1", "1", "1", "Maji hayatoki kijijini wiki nzima", "2", "1"]
REFERENCE = re.compile(r"Namba ya kumbukumbu: ([2-9A-Z]{8})")
TRY_AGAIN = "END "  # a hop the store could not serve ends politely, never with a 5xx


@pytest.fixture
def store_url() -> None:
    """These tests choose their own Redis (the conftest's runs every test on two stores)."""
    return None


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[Sentinel]:
    topology = Sentinel(tmp_path / "sentinel")
    yield topology
    topology.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of the test's own: it may kill a node."""
    topology = Cluster(tmp_path / "cluster")
    yield topology
    topology.stop()


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster for the tests that leave it whole (keys are the tests' own)."""
    topology = Cluster(tmp_path_factory.mktemp("cluster"))
    yield topology
    topology.stop()


async def _dial_until_served(phone: Phone, seconds: float = 10.0) -> None:
    """The first dial after a failover may meet a connection to the dead primary: the citizen
    then gets the polite END and dials again."""
    deadline = time.monotonic() + seconds
    while True:
        phone.session_id = ""
        screen = await phone.dial()
        if screen.startswith("CON Karibu"):
            return
        assert screen.startswith(TRY_AGAIN), screen
        assert time.monotonic() < deadline, "the gateway never found the new primary"


async def test_sentinel_failover_is_followed_without_a_restart(gateway, sentinel) -> None:
    client = await gateway(redis_url=sentinel.url)
    ready = await (await client.get("/readyz")).json()
    assert ready["topology"]["kind"] == "sentinel"
    assert ready["topology"]["service"] == "gateway"
    assert ready["topology"]["primary_reachable"] is True
    before = await give_feedback(Phone(client, number="+255712000001"))

    seconds = sentinel.fail_primary()
    print(f"sentinel failover: replica promoted after {seconds:.2f}s")

    after = Phone(client, number="+255712000002")
    await _dial_until_served(after)
    after.entries = []
    reference = await give_feedback(after)
    assert reference != before
    ready = await (await client.get("/readyz")).json()
    assert ready["topology"]["primary_reachable"] is True, ready


async def test_a_cluster_serves_journeys_language_and_resume(gateway, shared_cluster) -> None:
    """Every hop's calls stay on one slot each: journeys complete, a number's language is
    remembered and a dropped journey is offered back, across slots."""
    client = await gateway(redis_url=shared_cluster.url)
    ready = await (await client.get("/readyz")).json()
    assert ready["ready"] is True and ready["topology"]["kind"] == "cluster", ready
    references = {await give_feedback(Phone(client, number=f"+25571200{n:04d}")) for n in range(5)}
    assert len(references) == 5

    phone = Phone(client, number="+255712009999")
    await phone.dial()
    swahili = await phone.send("3")
    assert "English" in swahili
    english = await phone.send("2")
    phone.session_id, phone.entries = "", []
    again = await phone.dial()
    assert english.split("\n")[0].split(" ", 1)[1] in again or "Welcome" in again, again


def _post(url: str, session: str, phone: str, text: str) -> tuple[int, str]:
    form = {
        "sessionId": session,
        "serviceCode": "*152*00*1#",
        "phoneNumber": phone,
        "networkCode": "64004",
        "text": text,
    }
    try:
        with urllib.request.urlopen(
            url, data=urllib.parse.urlencode(form).encode(), timeout=10
        ) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _journey(
    servers: list[Server], n: int, hops: range = range(len(ENTRIES) + 1)
) -> tuple[str | None, list[int]]:
    """One journey (or ``hops`` of it) whose hops alternate between the servers: its reference
    (None when a hop ended it early, politely, or it is not over) and every status seen."""
    session, phone = f"ATUid_topology_{n}", f"+2557130{n:05d}"
    statuses = []
    reply = ""
    for hop in hops:
        status, reply = _post(servers[(n + hop) % 2].url, session, phone, "*".join(ENTRIES[:hop]))
        statuses.append(status)
        if status != 200 or reply.startswith("END "):
            break
    found = REFERENCE.search(reply)
    return (found.group(1) if found else None), statuses


@pytest.fixture
async def postgresql() -> AsyncIterator[str]:
    server_url = os.environ.get(TEST_DATABASE_URL_ENV)
    if not server_url:
        pytest.skip(f"two gateway processes share one PostgreSQL database: {TEST_DATABASE_URL_ENV}")
    async for url in _postgresql_database(server_url):
        yield url


@pytest.fixture
def two_gateways(
    tmp_path: Path, cluster: Cluster, postgresql: str
) -> Iterator[Callable[[], list[Server]]]:
    processes = ServeProcesses(tmp_path / "project")
    env = {"REDIS_URL": cluster.url, "DATABASE_URL": postgresql}

    def start() -> list[Server]:
        return [processes.start(env=env, name=f"serve{i}") for i in (1, 2)]

    yield start
    processes.stop_all()


def test_two_processes_on_a_cluster_complete_alternating_journeys_and_survive_a_failover(
    cluster: Cluster, two_gateways: Callable[[], list[Server]]
) -> None:
    servers = two_gateways()
    started = time.monotonic()
    results = [_journey(servers, n) for n in range(200)]
    elapsed = time.monotonic() - started
    references = [reference for reference, _ in results]
    assert all(statuses == [200] * 7 for _, statuses in results), results
    assert None not in references
    assert len(set(references)) == 200
    print(f"cluster: 200 alternating journeys, 200 distinct references in {elapsed:.1f}s")

    in_flight = range(300, 330)
    for n in in_flight:  # half-way through when the primary dies
        assert _journey(servers, n, range(0, 4)) == (None, [200] * 4)
    victim, seconds = cluster.fail_primary()
    print(f"cluster failover: primary on port {victim} replaced after {seconds:.2f}s")
    finished = [_journey(servers, n, range(4, len(ENTRIES) + 1)) for n in in_flight]
    assert {status for _, seen in finished for status in seen} == {200}, finished  # no 5xx
    print(
        f"cluster: {sum(r is not None for r, _ in finished)} of {len(finished)} journeys in "
        "flight across the failover completed; the others ended with the polite END"
    )

    after = [_journey(servers, n) for n in range(200, 260)]
    statuses = {status for _, seen in after for status in seen}
    assert statuses == {200}, after  # never a 5xx
    completed = [reference for reference, _ in after if reference is not None]
    # journeys started once the cluster is ok again complete; the first few may still meet a
    # connection to the dead primary and end politely
    assert len(completed) >= 55, after
    assert all(reference is not None for reference, _ in after[10:]), after
    assert len(set(completed) | set(references)) == 200 + len(completed)
    print(
        f"cluster: {len(completed)} of {len(after)} journeys started after the failover completed"
    )


@pytest.mark.parametrize("kind", ["sentinel", "shared_cluster"])
async def test_a_reload_at_one_process_reaches_the_other_on(
    kind: str,
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Any],
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    """The reload announcement is pub/sub: through Sentinel on the primary it names; on a
    cluster on the node serving the channel's slot, which the cluster forwards to all nodes."""
    topology = request.getfixturevalue(kind)
    (tmp_path / "project").mkdir()
    project = Project(tmp_path / "project")
    settings = project_settings(
        **project.settings(), redis_url=topology.url, database_url=sqlite_url
    )
    first = await aiohttp_client(create_app(settings))
    second = await aiohttp_client(create_app(settings))
    project.publish_v2()
    for _ in range(60):  # the listener subscribes within a moment of start-up
        status, answer = await reload(first)
        assert status == 200, answer
        if (await versions(second))["current"] == answer["services"]["mrejesho"]["new"]:
            break
        project.edit("Karibu e-Mrejesho", "Karibu e-Mrejesho ")  # a new version to announce
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the other process never heard of the reload")


async def test_on_a_cluster_counters_of_many_slots_count_and_copies_are_free(
    shared_cluster: Cluster,
) -> None:
    """A request's counters hash to different slots: each is counted on its own; a repeated
    copy of one request (its ``Once``) is not counted again."""
    client = connect(shared_cluster.url)
    try:
        state = RedisLimitState(client=client)
        counters = [("ussd:rl:number:a:0", 60.0), ("ussd:rl:provider:b:0", 60.0)]
        assert len({client.keyslot(key) for key, _ in counters}) == 2
        once = Once("ussd:rl:once:hop-1", 60.0)
        assert await state.count_soon(counters, once) == [1, 1]
        assert await state.count_soon(counters, once) == [1, 1]  # a copy: counts as they are
        assert await state.count_soon(counters) == [2, 2]
    finally:
        await client.aclose()


async def test_on_a_cluster_a_call_whose_keys_span_slots_fails_alone(
    shared_cluster: Cluster,
) -> None:
    client = connect(shared_cluster.url)
    try:
        batcher = Batcher(client)
        batcher.register({"get": "return redis.call('GET', KEYS[1])"})
        across = batcher.submit("get", ["ussd:{a}", "ussd:{b}"])
        fine = batcher.submit("get", ["ussd:{a}"])
        with pytest.raises(ResponseError, match="not on one cluster slot"):
            await across
        assert await fine is None
    finally:
        await client.aclose()


async def test_reload_announcements_survive_a_failover_of_the_channels_node(
    cluster: Cluster,
    aiohttp_client: Callable[..., Any],
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    """The listener's node (the channel's slot's primary) dies: it subscribes again on the
    replica that took over, and the next reload reaches the other process."""
    (tmp_path / "project").mkdir()
    project = Project(tmp_path / "project")
    settings = project_settings(
        **project.settings(), redis_url=cluster.url, database_url=sqlite_url
    )
    first = await aiohttp_client(create_app(settings))
    second = await aiohttp_client(create_app(settings))
    client = connect(cluster.url)
    try:
        await client.initialize()
        node = client.get_node_from_key(CHANNEL)
        assert node is not None
        victim = node.port
    finally:
        await client.aclose()
    assert victim in cluster.primaries()
    await asyncio.to_thread(cluster.fail_primary, victim)
    project.publish_v2()
    for _ in range(100):  # the listener resubscribes within a second or two
        status, answer = await reload(first)
        assert status == 200, answer
        if (await versions(second))["current"] == answer["services"]["mrejesho"]["new"]:
            break
        project.edit("Karibu e-Mrejesho", "Karibu e-Mrejesho ")  # a new version to announce
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the other process never heard of the reload after the failover")
