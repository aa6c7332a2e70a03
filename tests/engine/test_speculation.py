"""A speculative hop (the one-trip path, ``onetrip.py``) follows routers but stops before any
submit or lookup has run."""

from __future__ import annotations

import pytest

from tests.engine.helpers import MemoryPorts, build, drive, mrejesho
from ussd_gateway.domain.references import new_reference
from ussd_gateway.engine.runner import Engine
from ussd_gateway.engine.screens.router import RouterScreen
from ussd_gateway.engine.speculation import Speculating, Speculation

MESSAGE = "Barabara imeharibika kabisa"


async def test_a_submit_is_refused_before_it_runs() -> None:
    ports = MemoryPorts()
    engine = Engine(ports=ports)
    definition = mrejesho()
    confirm = await drive(definition, ["1", "1", "2", MESSAGE, "2"], engine=engine)
    assert confirm.session.screen == "confirm"
    with Speculating(), pytest.raises(Speculation, match="submit"):
        await engine.hop(definition, confirm.session, "1")
    assert ports.keys == []  # nothing reached the store
    sent = await engine.hop(definition, confirm.session, "1")  # outside: as always
    assert sent.reply.end and len(ports.submitted) == 1


async def test_a_lookup_is_refused_before_it_runs() -> None:
    ports = MemoryPorts()
    engine = Engine(ports=ports)
    definition = mrejesho()
    asked = await drive(definition, ["2"], engine=engine)
    with Speculating(), pytest.raises(Speculation, match="lookup"):
        await engine.hop(definition, asked.session, new_reference())
    assert ports.lookups == []


async def test_plain_hops_and_routers_run_while_speculating(menu_with_router) -> None:
    engine = Engine()
    plain = await drive(menu_with_router, ["1", "1"], engine=engine)
    started = await drive(menu_with_router, ["1"], engine=engine)
    with Speculating():
        speculative = await engine.hop(menu_with_router, started.session, "1")
    assert speculative.session.screen == plain.session.screen == "b"
    assert speculative.reply == plain.last.reply
    assert RouterScreen.pure


@pytest.fixture
def menu_with_router(tmp_path):
    return build(
        tmp_path,
        """
        service: spec
        languages: [sw]
        start: home
        screens:
          home:
            type: menu
            text: {sw: "Mwanzo"}
            options:
              - {label: {sw: "A"}, next: a}
          a:
            type: menu
            text: {sw: "Skrini A"}
            options:
              - {label: {sw: "B"}, next: check}
          check:
            type: router
            routes:
              - {when: "true", next: b}
            default: home
          b:
            type: input
            text: {sw: "Skrini B"}
            save_as: b
            next: home
        """,
    )
