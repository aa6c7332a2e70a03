"""A real gateway on a socket for the hypothesis fuzz tests of every adapter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.providers.fuzzing import LiveGateway, live_gateway


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    with live_gateway(tmp_path_factory.mktemp("live")) as gateway:
        yield gateway
