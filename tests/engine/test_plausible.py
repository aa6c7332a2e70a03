"""The runner's dry run: could a citizen on this screen have typed these entries, each accepted?

What the hop layer uses to read a cumulative text that may hold a message with ``*`` in it when
no session says where the message ended (tests/test_hop_rules.py shows the citizen's side).
"""

from __future__ import annotations

import pytest

from tests.engine.helpers import MemoryPorts, new_session
from tests.engine.test_runner import menu  # noqa: F401 - the FLOW menu fixture
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.runner import Engine


@pytest.mark.parametrize(
    ("entries", "plausible"),
    [
        (["1", "1", "hello", "1"], True),  # a router on the way, an end screen last
        (["1", "1", "hello", "1", "1"], False),  # typed after the session ended
        (["7"], False),  # a wrong choice: the citizen would have seen a hint
        (["1", "1", "x" * 11], False),  # longer than the input takes
        (["1", "0", "2", "msg"], True),  # back to the start, then on to a submit
        (["1", "1", "00", "2"], True),  # home from inside, then a choice there
        (["00"], False),  # home on the start screen is no key: a wrong choice
        (["2", "msg", "9"], True),  # past a submit nothing is known: not ruled out
        ([], True),
    ],
)
async def test_entries_each_accepted(
    menu: MenuDefinition,  # noqa: F811
    entries: list[str],
    plausible: bool,
) -> None:
    ports = MemoryPorts()
    engine = Engine(ports=ports)
    start = await engine.start(menu, new_session(menu))
    before = start.session.copy()
    assert await engine.plausible(menu, start.session, entries) is plausible
    assert start.session == before  # a dry run: the session is untouched
    assert ports.submitted == [] and ports.lookups == []
