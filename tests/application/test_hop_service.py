"""The hop service on its own: no HTTP, the in-process store, a small menu and a clock.

What aggregators and citizens notice of it: a retried hop gets the same screen and changes
nothing, text arrives cumulative or one entry at a time, a dropped journey is offered back,
an ended session stays ended, a dead store ends the hop politely, and the aggregator's
end-of-session notice is recorded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.conftest import project_settings
from tests.engine.helpers import MemoryPorts, build
from tests.support.clock import FakeClock
from ussd_gateway.adapters.sessions import MemorySessionStore
from ussd_gateway.application.factory import build_hops
from ussd_gateway.application.hops.service import HopService
from ussd_gateway.application.menus.registry import MenuRegistry
from ussd_gateway.application.menus.routing import ServiceRouter
from ussd_gateway.domain.session import Session, SessionStatus
from ussd_gateway.domain.ussd import UssdReply, UssdRequest
from ussd_gateway.ports.sessions import StoreUnavailable

CODE = "*150*9#"
PHONE = "+255712345678"

MENU = """
service: errands
languages: [sw, en]
start: home
screens:
  home:
    type: menu
    text: {sw: "Karibu", en: "Welcome"}
    options:
      - {label: {sw: "Andika", en: "Write"}, next: note}
      - {label: {sw: "Lugha", en: "Language"}, next: language}
  language:
    type: menu
    text: {sw: "Chagua lugha", en: "Choose language"}
    options:
      - {label: {sw: "English", en: "English"}, language: en, next: home}
  note:
    type: input
    text: {sw: "Andika ujumbe", en: "Type a note"}
    validate: {min_length: 3, max_length: 100}
    save_as: note
    next: confirm
  confirm:
    type: menu
    text: {sw: "Tuma: {{ note }}", en: "Send: {{ note }}"}
    options:
      - {label: {sw: "Ndiyo", en: "Yes"}, next: done}
  done:
    type: end
    text: {sw: "Asante", en: "Thanks"}
"""


class Recorder:
    """A hop observer that keeps what it was told."""

    def __init__(self) -> None:
        self.moves: list[tuple[str | None, str]] = []
        self.failures: list[str] = []
        self.ended: list[tuple[str, str]] = []

    def advanced(self, request, previous, current) -> None:
        self.moves.append((previous.screen if previous else None, current.screen))

    def answered(self, request, service, reply, seconds) -> None:
        pass

    def failed(self, request, service, dependency) -> None:
        self.failures.append(dependency)

    def session_ended(self, provider, session_id, service, reason) -> None:
        self.ended.append((session_id, reason))


@dataclasses.dataclass
class Rig:
    service: HopService
    store: MemorySessionStore
    observer: Recorder
    clock: FakeClock

    async def hop(self, text: str = "", *, session: str = "s1", **more: object) -> UssdReply:
        request = UssdRequest("at", session, CODE, PHONE, "64002", text)
        return await self.service.handle(dataclasses.replace(request, **more))

    async def session(self, session: str = "s1") -> Session:
        stored = await self.store.get(f"at:{session}")
        assert stored is not None
        return stored


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    definition = build(tmp_path, MENU)
    menus = MenuRegistry(
        {definition.service: definition},
        ServiceRouter({CODE: definition.service}, {definition.service: definition}),
        keep=0.0,
    )
    clock = FakeClock()
    store = MemorySessionStore(ttl=180, resume_window=300, clock=clock.monotonic)
    observer = Recorder()
    service = build_hops(
        project_settings(), menus=menus, store=store, ports=MemoryPorts(), observer=observer,
        clock=clock,
    )  # fmt: skip
    return Rig(service, store, observer, clock)


async def test_a_retried_hop_gets_the_same_screen_and_changes_nothing(rig: Rig) -> None:
    assert (await rig.hop("")).text.startswith("Karibu")
    first = await rig.hop("1")
    before = await rig.session()
    rig.clock.advance(5)
    assert await rig.hop("1") == first  # the aggregator sent the same hop again
    assert await rig.session() == before
    assert rig.observer.moves == [(None, "home"), ("home", "note")]


async def test_cumulative_text_is_cut_after_what_was_consumed_not_at_every_star(rig: Rig) -> None:
    await rig.hop("")
    await rig.hop("1")
    reply = await rig.hop("1*lipa *mara mbili*")
    assert reply.text.startswith("Tuma: lipa *mara mbili*")
    assert (await rig.session()).vars["note"] == "lipa *mara mbili*"


async def test_newest_entry_providers_and_their_hop_markers(rig: Rig) -> None:
    one = {"cumulative": False}
    await rig.hop("", session="b", start=True, marker="1", **one)
    reply = await rig.hop("1", session="b", marker="2", **one)
    assert reply.text.startswith("Andika ujumbe")
    assert await rig.hop("1", session="b", marker="2", **one) == reply  # a retry: same marker
    written = await rig.hop("safari", session="b", marker="3", **one)
    assert written.text.startswith("Tuma: safari")
    assert (await rig.session("b")).consumed == "1*safari"


async def test_the_session_remembers_when_it_was_last_used(rig: Rig) -> None:
    await rig.hop("")
    rig.clock.advance(42)
    await rig.hop("1")
    assert (await rig.session()).updated_at == rig.clock.time()


async def test_an_ended_session_answers_its_last_screen_and_goes_no_further(rig: Rig) -> None:
    for text in ("", "1", "1*safari", "1*safari*1"):
        reply = await rig.hop(text)
    assert reply == UssdReply("Asante", True)
    assert (await rig.session()).status is SessionStatus.COMPLETED
    assert await rig.hop("1*safari*1*1") == UssdReply("Asante", True)


async def test_a_dropped_journey_is_offered_back_and_resumed(rig: Rig) -> None:
    await rig.hop("", session="first")
    await rig.hop("1", session="first")
    typed = await rig.hop("1*safari", session="first")  # then the call drops
    offer = await rig.hop("", session="second")
    assert offer.text.startswith("Hukumaliza") and not offer.end
    wrong = await rig.hop("7", session="second")
    assert wrong.text.startswith("Chaguo si sahihi.\nHukumaliza")
    assert await rig.hop("7*1", session="second") == typed
    resumed = await rig.session("second")
    assert (resumed.screen, resumed.vars["note"]) == ("confirm", "safari")


async def test_restarting_instead_forgets_the_dropped_journey(rig: Rig) -> None:
    await rig.hop("", session="first")
    await rig.hop("1", session="first")
    await rig.hop("1*safari", session="first")
    await rig.hop("", session="second")
    assert (await rig.hop("2", session="second")).text.startswith("Karibu")
    assert await rig.store.resumable("errands", PHONE) is None
    assert (await rig.hop("", session="third")).text.startswith("Karibu")


async def test_a_language_choice_is_remembered_for_the_number(rig: Rig) -> None:
    await rig.hop("")
    await rig.hop("2")
    assert (await rig.hop("2*1")).text.startswith("Welcome")
    assert await rig.store.language(PHONE) == "en"
    assert (await rig.hop("", session="next")).text.startswith("Welcome")


async def test_an_extended_code_walks_the_entries_it_carries(rig: Rig) -> None:
    reply = await rig.hop("", service_code="*150*9*1#")
    assert reply.text.startswith("Andika ujumbe")


async def test_an_unknown_code_and_a_dead_store_end_politely(rig: Rig) -> None:
    unknown = await rig.hop("", service_code="*999#")
    assert unknown.end and "huduma hii haipo" in unknown.text

    async def down(phone: str) -> str | None:
        raise StoreUnavailable("redis language failed")

    rig.store.language = down  # type: ignore[method-assign]
    reply = await rig.hop("", session="dead")
    assert reply.end and reply.text.startswith("Samahani, huduma haipatikani")
    assert rig.observer.failures == ["sessions"]


async def test_a_session_id_reused_for_another_code_starts_afresh(rig: Rig) -> None:
    await rig.hop("")
    await rig.hop("1")
    stored = await rig.session()
    moved = dataclasses.replace(stored, service="other-service")
    async with rig.store.transaction("at:s1") as tx:
        tx.session = moved
    assert (await rig.hop("")).text.startswith("Karibu")
    assert (await rig.session()).service == "errands"


async def test_the_aggregators_end_notice_keeps_a_dropped_journey_resumable(rig: Rig) -> None:
    await rig.hop("")
    await rig.hop("1")
    await rig.hop("1*safari")
    assert await rig.service.close("at", "s1", "timeout", dropped=True) is True
    closed = await rig.session()
    assert (closed.end_reason, closed.status) == ("timeout", SessionStatus.ACTIVE)
    assert rig.observer.ended == [("s1", "timed_out")]
    assert (await rig.hop("1*safari*1")).end  # the session is over for this call
    assert (await rig.hop("", session="again")).text.startswith("Hukumaliza")


async def test_a_citizen_hanging_up_cancels_and_unknown_sessions_are_said_so(rig: Rig) -> None:
    await rig.hop("")
    assert await rig.service.close("at", "s1", "release", dropped=False) is True
    assert (await rig.session()).status is SessionStatus.CANCELLED
    assert rig.observer.ended == [("s1", "cancelled")]
    assert await rig.service.close("at", "nobody", "release", dropped=False) is False
