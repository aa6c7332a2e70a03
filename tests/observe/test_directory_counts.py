"""Funnel, outcomes and metrics of services entered through the government directory
(``*152*00#``), driven through the real webhook with the shipped menus: every hop and screen
counts for the service it is in, and the directory counts as a service of its own (sessions that
dialled its code, the services they chose, where they left)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.observe.helpers import delta, scrape, seed, uncached, value
from tests.observe.test_reports import report
from tests.support.databases import Database
from tests.support.phone import Phone
from ussd_gateway.http.observability import EVENTS

DIRECTORY = {"*152*00#": "serikali"}
"""As shipped in config/gateway.yaml."""

MESSAGE = "Huduma ya maji imekuwa nzuri sana mwezi huu"

MREJESHO_ROWS = [
    # screen, reached, left
    ("home", 3, 0),
    ("kind", 3, 0),
    ("institution", 3, 0),
    ("body", 3, 0),
    ("identify", 3, 0),
    ("name", 0, 0),
    ("confirm", 3, 0),
    ("done", 3, 0),
]


async def anonymous_feedback(phone: Phone) -> str:
    """From e-Mrejesho's first screen: complaint, TRA, a message, anonymous, send."""
    assert "Aina ya mrejesho" in await phone.send("1")
    await phone.walk("1", "2")
    assert "Ungependa kujitambulisha?" in await phone.send(MESSAGE)
    assert "(bila jina)" in await phone.send("2")
    final = await phone.send("1")
    assert final.startswith("END "), final
    return final


async def funnel(monkeypatch: pytest.MonkeyPatch, db: Database, service: str) -> dict:
    status, out = await report(monkeypatch, db, "funnel", "--service", service, "--json")
    assert status == 0, out
    return json.loads(out)


async def test_services_entered_through_the_directory_count_for_themselves(
    gateway, database_url: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await gateway(database_url=database_url, service_codes=DIRECTORY, sections=uncached())
    before, _ = await scrape(client)
    for number in ("+255713000301", "+255713000302"):  # two through the directory's list
        phone = Phone(client, number=number)
        listing = await phone.dial()
        assert listing.startswith("CON Huduma za Serikali\n1. e-Mrejesho")
        assert (await phone.send("1")).startswith("CON Karibu e-Mrejesho")
        await anonymous_feedback(phone)
    direct = Phone(client, number="+255713000303")  # one dialled straight into e-Mrejesho
    assert (await direct.dial("*152*00*1#")).startswith("CON Karibu e-Mrejesho")
    await anonymous_feedback(direct)
    after, _ = await scrape(client)
    await client.app[EVENTS].flush()

    # every hop counts for the service whose screen it shows: the list twice, e-Mrejesho's 7
    # screens (home ... confirm, then done) in each of the three sessions
    at = {"provider": "africastalking"}
    hops = {
        (service, kind): delta(before, after, "ussd_hops_total", service=service, kind=kind, **at)
        for service in ("serikali", "mrejesho")
        for kind in ("CON", "END")
    }
    assert hops == {
        ("serikali", "CON"): 2,
        ("serikali", "END"): 0,
        ("mrejesho", "CON"): 18,
        ("mrejesho", "END"): 3,
    }
    seconds = {
        service: delta(before, after, "ussd_hop_duration_seconds_count", service=service, **at)
        for service in ("serikali", "mrejesho")
    }
    assert seconds == {"serikali": 2, "mrejesho": 21}
    for service in ("serikali", "mrejesho"):
        assert delta(before, after, "ussd_sessions_started_total", service=service, **at) == 3
        ended = delta(
            before, after, "ussd_sessions_ended_total", service=service, reason="completed", **at
        )
        assert ended == 3, service
    assert (
        delta(before, after, "ussd_screens_reached_total", service="mrejesho", screen="home") == 3
    )
    assert (
        delta(before, after, "ussd_screens_reached_total", service="serikali", screen="home") == 2
    )
    entered = delta(
        before, after, "ussd_directory_entries_total", directory="serikali", service="mrejesho"
    )
    assert entered == 3

    mrejesho = await funnel(monkeypatch, db, "mrejesho")
    assert mrejesho["sessions"] == 3
    assert mrejesho["outcomes"]["completed"] == 3
    assert sum(mrejesho["outcomes"].values()) == 3
    assert [(s["screen"], s["reached"], s["left"]) for s in mrejesho["screens"]][:8] == (
        MREJESHO_ROWS
    )

    # the directory: sessions on its code, which saw the list, which service they chose, and
    # completed when the service they chose completed
    serikali = await funnel(monkeypatch, db, "serikali")
    assert serikali["sessions"] == 3
    assert serikali["outcomes"]["completed"] == 3
    assert sum(serikali["outcomes"].values()) == 3
    assert [(s["screen"], s["reached"], s["left"]) for s in serikali["screens"]] == [
        ("home", 2, 0),
        ("-> mrejesho", 3, 0),
        ("-> egov_meeting", 0, 0),
        ("-> bills", 0, 0),
    ]

    # the daily summary counts each call once
    status, out = await report(monkeypatch, db, "summary", "--json")
    assert status == 0
    [today] = json.loads(out)["days"]
    assert (today["sessions"], today["completed"]) == (3, 3)


async def test_leaving_a_service_for_the_directory_ends_its_visit_there(
    gateway, database_url: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await gateway(database_url=database_url, service_codes=DIRECTORY)
    phone = Phone(client, number="+255713000311")
    await phone.dial()
    await phone.walk("1", "1")  # e-Mrejesho, give feedback: the kind of feedback
    assert (await phone.send("000")).startswith("CON Huduma za Serikali")
    meeting = await phone.send("2")  # the meeting, then it drops
    assert meeting.startswith("CON Kikao Kazi cha Serikali Mtandao")
    quitter = Phone(client, number="+255713000312")
    await quitter.dial()
    await quitter.send("1")
    await quitter.send("0")  # back to the list from e-Mrejesho's first screen
    await client.app[EVENTS].flush()

    mrejesho = await funnel(monkeypatch, db, "mrejesho")
    assert mrejesho["sessions"] == 2
    assert mrejesho["outcomes"]["to_directory"] == 2
    rows = {s["screen"]: (s["reached"], s["left"]) for s in mrejesho["screens"]}
    assert rows["home"] == (2, 1) and rows["kind"] == (1, 1)
    meeting = await funnel(monkeypatch, db, "egov_meeting")
    assert meeting["sessions"] == 1 and meeting["outcomes"]["in_progress"] == 1
    serikali = await funnel(monkeypatch, db, "serikali")
    assert serikali["sessions"] == 2 and serikali["outcomes"]["in_progress"] == 2
    rows = {s["screen"]: (s["reached"], s["left"]) for s in serikali["screens"]}
    assert rows == {
        "home": (2, 0),
        "-> mrejesho": (2, 0),
        "-> egov_meeting": (1, 0),
        "-> bills": (0, 0),
    }
    status, out = await report(monkeypatch, db, "funnel", "--service", "mrejesho")
    assert status == 0
    assert "back to directory 2" in out.splitlines()[1]


def event(sid: str, service: str, kind: str, at: dt.datetime, screen: str | None = None) -> dict:
    return {"session_id": sid, "service": service, "provider": "africastalking", "kind": kind,
            "screen": screen, "reason": None, "at": at}  # fmt: skip


def through_directory(sid: str, start: dt.datetime, screens: list[str], step: float) -> list[dict]:
    """A session that chose e-Mrejesho on the list at ``start``, then showed ``screens``."""
    rows = [
        event(sid, "serikali", "start", start),
        event(sid, "serikali", "screen", start, "home"),
        event(sid, "serikali", "screen", start, "-> mrejesho"),
        event(sid, "mrejesho", "start", start),
    ]
    for n, screen in enumerate(screens):
        rows.append(
            event(sid, "mrejesho", "screen", start + dt.timedelta(seconds=n * step), screen)
        )
    return rows


async def test_a_directory_is_not_abandoned_while_its_citizen_is_busy_in_a_service(
    gateway, database_url: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime.now(dt.UTC)
    busy = now - dt.timedelta(minutes=10)  # typing for ten minutes, the last screen 20 s ago
    await seed(
        db,
        through_directory("busy", busy, ["home", "kind", "institution", "body"], step=193)
        + through_directory("dropped", now - dt.timedelta(minutes=30), ["home", "kind"], step=10),
    )
    client = await gateway(database_url=database_url, service_codes=DIRECTORY, sections=uncached())
    samples, _ = await scrape(client)
    timed_out = {
        service: value(
            samples, "ussd_sessions_timed_out_last_day", service=service, provider="africastalking"
        )
        for service in ("serikali", "mrejesho")
    }
    assert timed_out == {"serikali": 1, "mrejesho": 1}
    for service in ("serikali", "mrejesho"):
        outcomes = (await funnel(monkeypatch, db, service))["outcomes"]
        assert (outcomes["timed_out"], outcomes["in_progress"]) == (1, 1), service
