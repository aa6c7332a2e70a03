"""Every behaviour an aggregator or a citizen would notice, for every adapter in ``ADAPTERS``.

Each test runs every registered adapter against that adapter's own fixtures (its Driver in
``drivers.py``), as goflow's harness runs every registered type: a newly registered adapter is
tested at once, and fails here until it has fixtures. What only one aggregator does is in its own
module (test_africastalking.py, test_beem.py, test_hubtel.py, test_generic.py).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.providers.drivers import DRIVERS, FORM, Driver, Request, encode, with_field
from tests.providers.fuzzing import BOTH_STORES, FUZZ, PARSER_FUZZ, TYPED
from tests.test_journeys import MESSAGE, reference_in
from ussd_gateway.adapters.db.engine import create_engine
from ussd_gateway.adapters.db.models import Submission
from ussd_gateway.domain.ussd import BadRequest, SessionEnd, UssdRequest
from ussd_gateway.http.keys import SUBMISSIONS
from ussd_gateway.http.providers import ADAPTERS

HOME = "Karibu e-Mrejesho\n1. Toa mrejesho\n2. Fuatilia mrejesho\n3. Lugha / Language"
RESUME = "Hukumaliza e-Mrejesho."
INSTITUTIONS = "Chagua taasisi"


def driver_class(name: str) -> type[Driver]:
    if name not in DRIVERS:
        pytest.fail(
            f"adapter {name!r} is registered but has no Driver in tests/providers/drivers.py"
        )
    return DRIVERS[name]


NAMES = list(ADAPTERS)
PHONES = [
    pytest.param(name, options, id=name + suffix)
    for name in ADAPTERS
    for suffix, options in (DRIVERS[name].VARIANTS if name in DRIVERS else {"": {}}).items()
]
"""Every adapter, once per way it can be driven (generic: cumulative and latest)."""


def each(fixture: str) -> list[Any]:
    """Every adapter with every item of one of its fixtures (a dict's keys, a list's items)."""
    return [
        pytest.param(name, item, id=f"{name}-{getattr(item, 'reason', item)}"[:60])
        for name in ADAPTERS
        for item in (getattr(DRIVERS[name], fixture) if name in DRIVERS else ["no-fixtures"])
    ]


def phone_for(name: str, client: Any = None, **options: Any) -> Driver:
    return driver_class(name)(client, **options)


def test_every_registered_adapter_has_fixtures() -> None:
    assert sorted(DRIVERS) == sorted(ADAPTERS)


@BOTH_STORES
@pytest.mark.parametrize("named", [True, False], ids=["named", "anonymous"])
@pytest.mark.parametrize(("name", "options"), PHONES)
async def test_feedback_journey_ends_with_one_reference(
    client, sqlite_url: str, name: str, options: dict, named: bool
) -> None:
    """The whole e-Mrejesho journey; then the aggregator's closing notice changes nothing."""
    phone = phone_for(name, client, **options)
    home = await phone.dial()
    assert home.text == HOME and not home.end
    assert "Aina ya mrejesho\n1. Lalamiko" in (await phone.send("1")).text
    assert "2. TRA - Mapato" in (await phone.send("1")).text
    assert (await phone.send("2")).text.startswith("TRA - Mapato\nAndika ujumbe wako")
    assert "Ungependa kujitambulisha?" in (await phone.send(MESSAGE)).text
    if named:
        assert (await phone.send("1")).text.startswith("Andika jina lako")
        confirm = await phone.send("Amina Juma")
    else:
        confirm = await phone.send("2")
    assert confirm.text.startswith('Tuma kwa TRA - Mapato:\n"Nimelipa kodi *mara mbili*')
    final = await phone.send("1")
    assert final.end and final.text.startswith("Asante! Mrejesho umepokelewa.")
    reference = reference_in(final.text)
    assert all(not screen.end for screen in phone.screens[:-1])

    submissions = client.app[SUBMISSIONS]
    assert await submissions.get(reference) is not None
    assert await submissions.count() == 1
    assert await submissions.count(phone="+255712345678") == (1 if named else 0)
    assert await submissions.count(phone=None, anonymous=True) == (0 if named else 1)
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            query = select(Submission).where(Submission.reference == reference)
            row = (await connection.execute(query)).one()
    finally:
        await engine.dispose()
    assert row.data["body"] == MESSAGE  # the '*' inside the message arrived whole
    assert row.data["institution"] == "tra"
    assert row.data.get("name") == ("Amina Juma" if named else None)

    if phone.CLOSING:
        await phone.end(phone.CLOSING)
        session = await phone.stored()
        assert session is not None and session.end_reason == phone.NOTICES[phone.CLOSING].reason
    assert await submissions.count() == 1
    assert (await phone.dial()).text == HOME  # a finished journey is never offered again


@pytest.mark.parametrize(("name", "options"), PHONES)
async def test_retries_get_the_same_screen_without_advancing(
    client, name: str, options: dict
) -> None:
    phone = phone_for(name, client, **options)
    home = await phone.dial()
    dial = phone.last
    assert await phone.retry() == home  # the dial twice
    if not phone.HOP_IDS:
        pytest.skip(f"{name} sends no hop id: a retried entry is the same entry typed again")
    kind = await phone.send("1")
    assert await phone.retry() == kind  # the same hop again: not a second "1"
    assert dial is not None
    assert await phone.post(dial) == kind  # a late copy of the dial: the current screen
    assert INSTITUTIONS in (await phone.send("1")).text  # the same entry, a new hop: moves on


@BOTH_STORES
@pytest.mark.parametrize(("name", "notice"), each("NOTICES"))
async def test_end_notices_end_the_session_or_keep_it_resumable(
    client, name: str, notice: str
) -> None:
    phone = phone_for(name, client)
    await phone.dial()
    institutions = await phone.walk("1", "1")
    await phone.end(notice)
    expected = phone.NOTICES[notice]
    session = await phone.stored()
    assert session is not None and session.end_reason == expected.reason
    late = await phone.send("2")  # a hop arriving on the closed session ends it, in place
    assert late.end and late.text == institutions.text
    again = await phone.dial()
    if expected.resumable:
        assert again.text.startswith(RESUME)
        assert await phone.send("1") == institutions
    else:
        assert again.text == HOME


@pytest.mark.parametrize("name", NAMES)
async def test_end_notice_for_an_unknown_session_is_acknowledged(client, name: str) -> None:
    phone = phone_for(name, client)
    if not phone.NOTICES:
        pytest.skip(f"{name} sends no end-of-session notice")
    phone.session_id = f"never-seen-{uuid.uuid4().hex}"
    await phone.end()


@pytest.mark.parametrize(("name", "case"), each("REFUSED"))
async def test_malformed_requests_get_a_400_with_a_one_line_reason(
    client, name: str, case: Any
) -> None:
    phone = phone_for(name, client)
    body = case.body
    if not isinstance(body, bytes):
        body, _ = encode(("form" if phone.CONTENT_TYPE == FORM else "json", body))
    content_type = phone.CONTENT_TYPE if case.content_type is None else case.content_type
    response = await client.post(
        phone.url + case.route, data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 400
    assert await response.text() == f"bad request: {case.reason}\n"
    assert await client.app[SUBMISSIONS].count() == 0


@pytest.mark.parametrize(("name", "path"), each("LIMITS"))
async def test_oversize_fields_are_refused(client, name: str, path: str) -> None:
    phone = phone_for(name, client)
    kind, body = phone.dial_request()
    field, limit = phone.LIMITS[path]
    data, content_type = encode((kind, with_field(body, path, "9" * (limit + 1))))
    response = await client.post(phone.url, data=data, headers={"Content-Type": content_type})
    assert response.status == 400
    assert await response.text() == f"bad request: {field} longer than {limit} characters\n"


def pieces(data: bytes, size: int, pause: float = 0) -> Any:
    async def stream():
        for i in range(0, len(data), size):
            yield data[i : i + size]
            await asyncio.sleep(pause)

    return stream()


@pytest.mark.parametrize("name", NAMES)
async def test_a_body_arriving_in_pieces_is_read_whole(client, name: str) -> None:
    phone = phone_for(name, client)
    request = phone.dial_request()
    data, content_type = encode(request)
    headers = {"Content-Type": content_type}
    response = await client.post(phone.url, data=pieces(data, 16, 0.01), headers=headers)
    text = await response.text()
    assert response.status == 200, text
    assert phone.read(text, request).text == HOME


@pytest.mark.parametrize("name", NAMES)
async def test_a_body_over_8_kib_is_refused_whole_or_in_pieces(client, name: str) -> None:
    phone = phone_for(name, client)
    data, content_type = encode(phone.dial_request())
    huge = data + b" " * 9000
    headers = {"Content-Type": content_type}
    for body in (huge, pieces(huge, 1000)):  # with a Content-Length, then without one
        response = await client.post(phone.url, data=body, headers=headers)
        assert response.status == 400
        assert await response.text() == "bad request: body larger than 8192 bytes\n"


@pytest.mark.parametrize(("name", "options"), PHONES)
async def test_extended_code_walks_the_entries_it_names(client, name: str, options: dict) -> None:
    phone = phone_for(name, client, **options)
    kind = await phone.dial("*152*00*1#")
    assert kind.text.startswith("Aina ya mrejesho\n1. Lalamiko")
    assert INSTITUTIONS in (await phone.send("1")).text


@pytest.mark.parametrize(("name", "options"), PHONES)
async def test_input_in_the_other_format_still_advances_one_step(
    client, name: str, options: dict
) -> None:
    """A telco that sends the whole input where the newest entry is due, or the other way."""
    phone = phone_for(name, client, **options)
    await phone.dial()
    await phone.walk("1", "1")
    screen = await phone.hop(phone.other_format("2"))
    assert screen.text.startswith("TRA - Mapato\nAndika ujumbe wako")
    assert "Ungependa kujitambulisha?" in (await phone.send(MESSAGE)).text


@pytest.mark.parametrize(("name", "options"), PHONES)
async def test_unicode_digits_get_the_hint_not_a_crash(client, name: str, options: dict) -> None:
    """'³'.isdigit() is true but int('³') fails: found by the fuzz tests (a 500 before)."""
    phone = phone_for(name, client, **options)
    await phone.dial()
    assert (await phone.send("³")).text.startswith("Chaguo si sahihi.")
    await phone.walk("1", "1")
    assert (await phone.send("²")).text.startswith("Chaguo si sahihi.")


@pytest.mark.parametrize("name", NAMES)
async def test_a_token_segment_is_accepted_for_hops_and_notices(client, name: str) -> None:
    phone = phone_for(name, client, token="s3cr3t")
    assert (await phone.dial()).text == HOME
    if phone.NOTICES:
        await phone.end()
        session = await phone.stored()
        assert session is not None and session.end_reason == phone.NOTICES[phone.DROPPED].reason


async def test_unknown_providers_are_not_found(client) -> None:
    phone = phone_for("generic", client)
    data, content_type = encode(phone.dial_request())
    for url in ("/ussd/nobody", "/ussd/nobody/s3cr3t"):
        response = await client.post(url, data=data, headers={"Content-Type": content_type})
        assert response.status == 404


@PARSER_FUZZ
@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_parser_accepts_or_refuses_cleanly(name: str, data: st.DataObject) -> None:
    driver = driver_class(name)
    example = data.draw(driver.parser_inputs())
    if not isinstance(example, dict):
        return
    try:
        parsed = driver.parse(example)
    except BadRequest as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(parsed, UssdRequest | SessionEnd)
    assert parsed.provider == name and parsed.session_id
    if isinstance(parsed, UssdRequest):
        assert parsed.phone and parsed.service_code
        assert parsed.cumulative is driver.cumulative(example)


@FUZZ
@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_webhook_never_answers_5xx(live, name: str, data: st.DataObject) -> None:
    driver = driver_class(name)
    body = data.draw(driver.fuzz_bodies(), label="body")
    content_type = data.draw(st.sampled_from(driver.FUZZ_CONTENT_TYPES), label="content type")
    status, _, answer = live.post(f"/ussd/{name}", body, content_type)
    event(f"HTTP {status}")
    assert status < 500, answer
    if status == 200:
        driver.shape(answer.decode())


@FUZZ
@pytest.mark.parametrize(("name", "options"), PHONES)
@given(
    code=st.sampled_from(["*152*00#", "*152*00*1#", "*152*00*9*9#"]),
    typed=TYPED,
    data=st.data(),
)
def test_any_typed_session_gets_a_screen_on_every_hop(
    live, name: str, options: dict, code: str, typed: list[str], data: st.DataObject
) -> None:
    """Every hop gets a screen, an ended session never comes back, and any notice is taken."""
    phone = phone_for(name, **options)
    notices = sorted(phone.NOTICES)
    notice = data.draw(st.sampled_from(notices), label="notice") if notices else None

    def hop(url: str, request: Request) -> str:
        status, _, answer = live.post(url, *encode(request))
        assert status == 200, answer
        return answer.decode()

    ended = False
    for entry in [None, *typed]:
        request = phone.dial_request(code) if entry is None else phone.entry_request(entry)
        screen = phone.answered(request, hop(phone.url, request))
        assert screen.text.strip()
        assert not ended or screen.end, "a session came back to life"
        ended = screen.end
    if notice is not None:
        request = phone.hang_up(notice)
        phone.acknowledged(hop(phone.notice_url, request), request)


@pytest.mark.parametrize("name", NAMES)
async def test_configured_callers_only(gateway, name: str) -> None:
    """``providers.<name>`` in gateway.yaml guards every adapter: a path token and basic auth
    (its password's variable named by default, ``-`` written ``_``)."""
    variable = f"PROVIDER_{name.upper().replace('-', '_')}"
    client = await gateway(
        sections={
            "providers": {
                name: {"path_token_env": f"{variable}_TOKEN", "basic": {"username": "agg"}}
            }
        },
        env={f"{variable}_TOKEN": "t0k3n", f"{variable}_PASSWORD": "pa55"},
    )
    login = {"Authorization": "Basic " + base64.b64encode(b"agg:pa55").decode()}
    phone = phone_for(name, client)
    data, content_type = encode(phone.dial_request())
    for url, headers, status in (
        (phone.url, login, 401),
        (f"{phone.url}/wrong", login, 401),
        (f"{phone.url}/t0k3n", {}, 401),
        (f"{phone.url}/t0k3n", login, 200),
    ):
        response = await client.post(
            url, data=data, headers={"Content-Type": content_type, **headers}
        )
        assert response.status == status, url
    assert await client.app[SUBMISSIONS].count() == 0
