"""/metrics as Prometheus sees it, scraped before and after real journeys through the real app."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import text, update

from tests.conftest import ROOT
from tests.observe.helpers import delta, journey, scrape, seed, uncached, value
from tests.support.databases import Database
from tests.support.phone import Phone
from tests.test_journeys import MESSAGE, give_feedback
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.adapters.observe.events import opaque_session_id
from ussd_gateway.adapters.observe.metrics import DELIVERY_BUCKETS

AT = {"service": "mrejesho", "provider": "africastalking"}


async def test_a_journey_moves_the_counters(gateway) -> None:
    client = await gateway(sections=uncached())
    phone = Phone(client, number="+255711000111")
    before, _ = await scrape(client)

    reference = await give_feedback(phone)
    await phone.dial()  # a second session, left on the home screen
    await phone.send("1")
    await phone.send("1")  # replayed below: the same hop again must not count as a new screen
    await phone.post()

    after, body = await scrape(client)
    # first session: home, kind, institution, body, identify, name, confirm (CON) + done (END)
    assert delta(before, after, "ussd_hops_total", kind="CON", **AT) == 7 + 3 + 1
    assert delta(before, after, "ussd_hops_total", kind="END", **AT) == 1
    assert delta(before, after, "ussd_hop_duration_seconds_count", **AT) == 12
    assert delta(before, after, "ussd_sessions_started_total", **AT) == 2
    assert delta(before, after, "ussd_sessions_ended_total", reason="completed", **AT) == 1
    reached = {
        screen: delta(
            before, after, "ussd_screens_reached_total", service="mrejesho", screen=screen
        )
        for screen in ("home", "kind", "institution", "body", "identify", "name", "confirm", "done")
    }
    assert reached == {
        "home": 2, "kind": 2, "institution": 2, "body": 1,
        "identify": 1, "name": 1, "confirm": 1, "done": 1,
    }  # fmt: skip
    # read from this test's own database: exact, not a delta
    assert value(after, "ussd_submissions", status="pending") == 1
    assert value(after, "ussd_outbox_depth") == 1
    assert value(after, "ussd_sms_messages", status="pending") == 1  # the receipt, not sent yet
    assert 0 <= value(after, "ussd_outbox_oldest_pending_age_seconds") < 60
    assert value(after, "ussd_database_figures_up") == 1
    # nothing delivered yet: the delivery histogram is empty
    assert value(after, "ussd_submission_delivery_seconds_count") == 0
    assert reference not in body


async def test_no_phone_number_nor_session_id_in_any_label(gateway) -> None:
    client = await gateway(sections=uncached())
    phone = Phone(client, number="+255744987654")
    await give_feedback(phone, anonymous=True)
    await phone.dial()
    _, body = await scrape(client)
    secrets = {
        phone.number,
        phone.number.lstrip("+"),
        "744987654",
        phone.session_id,
        opaque_session_id("africastalking", phone.session_id),
    }
    labels = re.findall(r'="([^"]*)"', body)
    assert labels, "no labels at all: the scrape is not what this test thinks"
    for label in labels:
        for secret in secrets:
            assert secret not in label, f"{secret!r} leaks into a label: {label!r}"
    assert not any(s in body for s in secrets)
    assert "ATUid_" not in body


async def test_dead_session_store_is_counted(gateway, isolated_redis_server) -> None:
    client = await gateway(redis_url=isolated_redis_server.url, sections=uncached())
    phone = Phone(client)
    await phone.dial()
    before, _ = await scrape(client)
    isolated_redis_server.stop()
    assert (await phone.send("1")).startswith("END Samahani")
    after, _ = await scrape(client)
    assert delta(before, after, "ussd_dependency_errors_total", dependency="sessions") == 1
    assert delta(before, after, "ussd_sessions_ended_total", reason="error", **AT) == 1
    assert delta(before, after, "ussd_hops_total", kind="END", **AT) == 1


async def test_unknown_codes_are_counted_apart(gateway) -> None:
    client = await gateway(sections=uncached())
    before, _ = await scrape(client)
    assert (await Phone(client).dial("*999#")).startswith("END ")
    after, _ = await scrape(client)
    assert delta(before, after, "ussd_unknown_code_hops_total", provider="africastalking") == 1
    assert delta(before, after, "ussd_sessions_started_total", **AT) == 0


async def test_delivery_latency_histogram(gateway, database_url: str, db: Database):
    """From a submission being stored to its delivery (``submissions.delivered_at``)."""
    client = await gateway(database_url=database_url, sections=uncached())
    phone = Phone(client)
    references = [await give_feedback(phone, MESSAGE + f" {n}") for n in range(3)]
    delays = {references[0]: 3, references[1]: 45}  # the third is still pending
    for reference, seconds in delays.items():
        async with db.sessionmaker() as session, session.begin():
            row = (
                await session.execute(
                    text("SELECT created_at FROM submissions WHERE reference = :r"),
                    {"r": reference},
                )
            ).one()
            created = row[0]
            if isinstance(created, str):  # SQLite hands back text
                created = dt.datetime.fromisoformat(created)
            await session.execute(
                update(Submission)
                .where(Submission.reference == reference)
                .values(status="delivered")
            )
            await session.execute(
                text("UPDATE submissions SET delivered_at = :d WHERE reference = :r"),
                {"d": created + dt.timedelta(seconds=seconds), "r": reference},
            )
    samples, _ = await scrape(client)
    name = "ussd_submission_delivery_seconds"
    assert value(samples, f"{name}_count") == 2
    assert abs(value(samples, f"{name}_sum") - 48) < 0.01
    expected = {b: sum(1 for s in delays.values() if s <= b) for b in DELIVERY_BUCKETS}
    for bound, count in expected.items():
        assert value(samples, f"{name}_bucket", le=str(float(bound))) == count, bound
    assert value(samples, "ussd_submissions", status="delivered") == 2
    assert value(samples, "ussd_outbox_depth") == 1


async def test_timed_out_sessions_come_from_the_events(gateway, database_url: str, db: Database):
    now = dt.datetime.now(dt.UTC)
    await seed(
        db,
        journey("old-idle", ["home", "kind"], start=now - dt.timedelta(minutes=30))
        + journey(
            "old-done", ["home", "done"], start=now - dt.timedelta(minutes=30), end="completed"
        )
        + journey("fresh", ["home"], start=now - dt.timedelta(seconds=5))
        + journey("yesterday", ["home"], start=now - dt.timedelta(days=2)),
    )
    client = await gateway(database_url=database_url, sections=uncached())
    samples, _ = await scrape(client)
    assert value(samples, "ussd_sessions_timed_out_last_day", **AT) == 1


async def test_database_figures_are_cached_between_scrapes(gateway) -> None:
    client = await gateway(sections=uncached(metrics_cache=3600))
    first, _ = await scrape(client)
    await give_feedback(Phone(client))
    second, _ = await scrape(client)
    assert value(first, "ussd_submissions", status="pending") == 0
    assert value(second, "ussd_submissions", status="pending") == 0  # still the cached read
    assert delta(first, second, "ussd_sessions_started_total", **AT) == 1  # counters are live


async def test_aggregator_end_notices_count_as_timed_out_or_cancelled(gateway) -> None:
    client = await gateway(sections=uncached())
    phone = Phone(client, number="+255711000222")

    async def notice(status: str) -> None:
        form = {"sessionId": phone.session_id, "serviceCode": "*152*00#", "status": status,
                "phoneNumber": phone.number, "networkCode": "64002"}  # fmt: skip
        assert (await client.post("/ussd/africastalking/events", data=form)).status == 200

    before, _ = await scrape(client)
    await phone.dial()
    await phone.send("1")
    await notice("Incomplete")  # the call dropped mid-journey
    await notice("Incomplete")  # the aggregator retries its callback: counted once
    await phone.dial()
    await notice("Success")  # the citizen hung up on the home screen
    after, _ = await scrape(client)
    assert delta(before, after, "ussd_sessions_ended_total", reason="timed_out", **AT) == 1
    assert delta(before, after, "ussd_sessions_ended_total", reason="cancelled", **AT) == 1


async def test_a_citizen_who_cancels_counts_as_cancelled(gateway) -> None:
    client = await gateway(sections=uncached())
    phone = Phone(client, number="+255711000333")
    before, _ = await scrape(client)
    await phone.dial()
    for entry in ("1", "1", "2", MESSAGE, "2"):
        await phone.send(entry)
    assert (await phone.send("2")).startswith("END Mrejesho haukutumwa")  # 2. Ghairi
    after, _ = await scrape(client)
    assert delta(before, after, "ussd_sessions_ended_total", reason="cancelled", **AT) == 1
    assert delta(before, after, "ussd_sessions_ended_total", reason="completed", **AT) == 0


async def test_outbox_depth_is_what_the_worker_still_has_to_deliver(
    gateway, database_url: str, db: Database
):
    """docs/observability.md: ``pending`` only; failed and dead ones wait for an operator."""
    client = await gateway(database_url=database_url, sections=uncached())
    phone = Phone(client)
    references = [await give_feedback(phone, MESSAGE + f" {n}") for n in range(3)]
    for reference, status in zip(references, ("failed", "dead"), strict=False):
        async with db.sessionmaker() as session, session.begin():
            await session.execute(
                update(Submission).where(Submission.reference == reference).values(status=status)
            )
    samples, _ = await scrape(client)
    assert value(samples, "ussd_outbox_depth") == 1
    assert [value(samples, "ussd_submissions", status=s) for s in ("failed", "dead")] == [1, 1]
    doc = (ROOT / "docs" / "observability.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| `ussd_outbox_depth`"))
    assert "still has to deliver: `pending`" in row and "`failed` and `dead` ones wait" in row
