"""docs/providers.md cannot drift from the adapters: every sample on it is posted to a gateway
with the shipped menus and must get exactly the reply shown, and every adapter has samples."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import NamedTuple

import pytest

from tests.conftest import MREJESHO_CODES, ROOT, GatewayFactory, shipped_settings
from ussd_gateway.http.providers import ADAPTERS

DOC = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
SAMPLE = re.compile(
    r"<!-- POST (?P<url>/ussd/\S+?)(?P<form> \(form\))? -->\n"
    r"```\w*\n(?P<request>.*?)\n```\n\n```\w*\n(?P<reply>.*?)\n```",
    re.DOTALL,
)


class Sample(NamedTuple):
    url: str
    form: bool
    request: str
    reply: str


def samples() -> dict[str, list[Sample]]:
    """The samples by provider, in the page's order (each provider's make one session)."""
    found: dict[str, list[Sample]] = defaultdict(list)
    for match in SAMPLE.finditer(DOC):
        sample = Sample(match["url"], bool(match["form"]), match["request"], match["reply"])
        found[sample.url.split("/")[2]].append(sample)
    return found


SAMPLES = samples()


def test_every_adapter_has_samples_and_every_marker_is_read() -> None:
    assert sorted(SAMPLES) == sorted(ADAPTERS)
    assert sum(map(len, SAMPLES.values())) == DOC.count("<!-- POST ")


SHIPPED_CODES = ("generic",)
"""Samples dialling ``*152*00#`` as shipped (the government directory first); the others'
reach e-Mrejesho from the dial, as the page says (``service_codes: {"*152*00#": mrejesho}``)."""


def test_the_page_says_which_samples_dial_the_directory() -> None:
    assert 'service_codes: {"*152*00#": mrejesho}' in DOC
    generic = DOC.split("## generic: our own format", 1)[1]
    assert "as shipped, `*152*00#` opens the government directory" in generic


@pytest.mark.parametrize("name", sorted(SAMPLES))
async def test_each_sample_gets_the_reply_shown(gateway: GatewayFactory, name: str) -> None:
    codes = shipped_settings().service_codes if name in SHIPPED_CODES else MREJESHO_CODES
    client = await gateway(service_codes=codes)
    for sample in SAMPLES[name]:
        if sample.form:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            response = await client.post(sample.url, data=sample.request, headers=headers)
        else:
            response = await client.post(sample.url, json=json.loads(sample.request))
        text = await response.text()
        assert response.status == 200, text
        if sample.form:
            assert text == sample.reply
        else:
            assert json.loads(text) == json.loads(sample.reply)
