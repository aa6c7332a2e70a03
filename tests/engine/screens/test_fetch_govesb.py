"""``fetch`` screens on a ``govesb`` backend, against a stand-in bus that checks our signature
and signs its replies: only a reply the bus's key vouches for reaches a citizen's screen."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.engine.helpers import build, drive
from tests.engine.screens.test_fetch import BILLS, engine_for
from tests.support.clock import FakeClock
from tests.support.govesb_bus import StandInBus, new_key, private_pem
from ussd_gateway.adapters.connectors import govesb_crypto
from ussd_gateway.adapters.fetch import BackendFetcher
from ussd_gateway.config.backends import BackendConfig
from ussd_gateway.config.fetch import FetchSettings
from ussd_gateway.domain.fetch import Answer, FetchRequest

SECRET = "s3cret-client-secret"
BILL = {"payer": {"name": "Asha Juma"}, "amount": 15000, "items": [1]}


@pytest.fixture
def our_key() -> ec.EllipticCurvePrivateKey:
    return new_key()


@pytest.fixture
async def bus(our_key: ec.EllipticCurvePrivateKey) -> AsyncIterator[StandInBus]:
    stand_in = StandInBus(
        client_id="ussd-gateway",
        client_secret=SECRET,
        client_public_key=our_key.public_key(),
        api_code="GEPG-BILL-QUERY",
    )
    stand_in.lookup = lambda body: BILL if body == {"control_number": "991234567890"} else None
    await stand_in.start()
    yield stand_in
    await stand_in.close()


def govesb_backend(
    bus: StandInBus, our_key: ec.EllipticCurvePrivateKey, tmp_path: Path, **options: Any
) -> BackendConfig:
    (tmp_path / "ours.pem").write_text(private_pem(our_key))
    (tmp_path / "bus.pem").write_text(bus.public_pem)
    (tmp_path / "client_secret").write_text(SECRET + "\n")
    return BackendConfig(
        name="bills",
        type="govesb",
        timeout=2.0,
        options={
            "token_url": bus.token_url,
            "engine_url": bus.pull_url,
            "api_code": bus.api_code,
            "client_id": bus.client_id,
            "client_secret_file": str(tmp_path / "client_secret"),
            "private_key_file": str(tmp_path / "ours.pem"),
            "public_key_file": str(tmp_path / "bus.pem"),
            **options,
        },
    )


@pytest.fixture
async def fetcher(
    bus: StandInBus, our_key: ec.EllipticCurvePrivateKey, tmp_path: Path
) -> AsyncIterator[BackendFetcher]:
    clock = FakeClock()
    fetch = BackendFetcher(
        {"bills": govesb_backend(bus, our_key, tmp_path)},
        FetchSettings(timeout=0.3),
        clock=clock.monotonic,
    )
    yield fetch
    await fetch.close()


@pytest.fixture
def menu(tmp_path: Path):
    return build(tmp_path, BILLS)


async def test_a_verified_bill_is_shown_and_the_pull_was_signed(menu, bus, fetcher) -> None:
    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))

    assert journey.text == "Asha Juma|15000"
    assert journey.session.vars["first_item"] == 1
    assert bus.rejected_signatures == 0  # the bus verified our signature
    [pull] = bus.received
    assert (pull.code_field, pull.code) == ("apiCode", "GEPG-BILL-QUERY")
    assert pull.esb_body == {"control_number": "991234567890"}


async def test_a_record_the_institution_does_not_have_is_not_found(menu, bus, fetcher) -> None:
    journey = await drive(menu, ["990000000000"], engine=engine_for(fetcher))

    assert journey.text == "Haipo"
    assert len(bus.received) == 1


@pytest.mark.parametrize("signature", ["forged", "tampered", "missing"])
async def test_an_unverifiable_reply_is_unavailable_never_shown(
    menu, bus, fetcher, signature
) -> None:
    bus.reply_signature = signature

    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))

    assert journey.text == "Jaribu baadaye"
    assert "Asha" not in journey.text
    assert "payer" not in journey.session.vars


async def test_a_reply_signed_over_the_bytes_as_sent_is_believed(menu, bus, fetcher) -> None:
    bus.reply_signature = "as-sent"

    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))

    assert journey.text == "Asha Juma|15000"


@pytest.mark.parametrize(
    "raw",
    [b"not json", b'{"data": "no object", "signature": "x"}', b"[" * 50 + b"]" * 50],
    ids=["not-json", "not-an-envelope", "too-deep"],
)
async def test_a_bad_reply_is_unavailable(menu, bus, fetcher, raw) -> None:
    bus.raw_reply = raw

    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))

    assert journey.text == "Jaribu baadaye"


async def test_bus_trouble_is_unavailable_and_counts_against_its_circuit(
    menu, bus, fetcher
) -> None:
    bus.status = 503
    for _ in range(3):  # FetchSettings.breaker_failures
        journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))
        assert journey.text == "Jaribu baadaye"
    assert fetcher.breaker("bills").state == "open"
    asked = bus.requests
    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))
    assert journey.text == "Jaribu baadaye"
    assert bus.requests == asked  # the open circuit spared the bus


async def test_a_slow_bus_is_unavailable_within_the_fetch_deadline(menu, bus, fetcher) -> None:
    bus.delay = 2.0
    loop = asyncio.get_running_loop()
    started = loop.time()

    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))

    assert journey.text == "Jaribu baadaye"
    assert loop.time() - started < 1.0


async def test_a_revoked_token_is_renewed_once_and_the_bill_shown(menu, bus, fetcher) -> None:
    await drive(menu, ["991234567890"], engine=engine_for(fetcher))
    bus.revoke_tokens()

    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))

    assert journey.text == "Asha Juma|15000"
    assert bus.token_calls == 2


async def test_a_reply_sealed_to_our_key_is_opened(menu, bus, fetcher, our_key) -> None:
    sealed = govesb_crypto.encrypt(json.dumps(BILL).encode(), our_key.public_key())
    bus.lookup = lambda body: sealed

    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))

    assert journey.text == "Asha Juma|15000"


async def test_a_reply_sealed_to_another_key_is_unavailable(menu, bus, fetcher) -> None:
    sealed = govesb_crypto.encrypt(json.dumps(BILL).encode(), new_key().public_key())
    bus.lookup = lambda body: sealed

    journey = await drive(menu, ["991234567890"], engine=engine_for(fetcher))

    assert journey.text == "Jaribu baadaye"


async def test_a_push_backend_is_refused_for_fetches_with_a_reason(bus, our_key, tmp_path) -> None:
    backend = govesb_backend(bus, our_key, tmp_path, engine_url=bus.push_url)
    fetch = BackendFetcher({"bills": backend}, FetchSettings(), clock=FakeClock().monotonic)
    try:
        result = await fetch.fetch(FetchRequest("bills", {"control_number": "1"}, timeout=1.0))
    finally:
        await fetch.close()

    assert result.answer is Answer.UNAVAILABLE
    assert "mode: pull" in result.reason
    assert bus.requests == 0
