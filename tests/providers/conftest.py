"""Adapter tests run on the in-process store, except those marked BOTH_STORES (sessions that
end and resume, whole journeys), which run on Redis too; and a real gateway on a socket for the
hypothesis fuzz tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.providers.fuzzing import LiveGateway, live_gateway


@pytest.fixture(params=["memory"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    with live_gateway(tmp_path_factory.mktemp("live")) as gateway:
        yield gateway
