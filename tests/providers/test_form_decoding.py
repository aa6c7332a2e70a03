"""The Africa's Talking form decoder gives exactly what ``urllib.parse.parse_qs`` gives."""

from __future__ import annotations

import random
from urllib.parse import parse_qs

import pytest

from ussd_gateway.domain.ussd import BadRequest
from ussd_gateway.http.providers.africastalking import decode_form, form_field

TRICKY = [
    b"",
    b"sessionId=ATUid_1&serviceCode=%2A152%2A00%23&phoneNumber=%2B255712345678&text=",
    b"text=1*2*Huduma+ya+maji+ni+mbaya&text=second",
    b"&&a=1&&b=&c&=d&e==f",
    b"name%20with%20space=v%C3%A9lo+%2B+plus",
    b"bad=%zz%4&ok=%41",
    b"text=%E2%82%AC%F0%9F%98%80",
    b"semi=1;2&x=y",
    "raw=Habari ya leo, ñ".encode(),
]


def expected(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8"), keep_blank_values=True, errors="strict")


def decodes_like_parse_qs(body: bytes) -> None:
    """The same fields as parse_qs, or a BadRequest where parse_qs finds invalid UTF-8."""
    try:
        want = expected(body)
    except UnicodeDecodeError:
        with pytest.raises(BadRequest):
            decode_form(body)
        return
    assert decode_form(body) == want, body


@pytest.mark.parametrize("body", TRICKY)
def test_same_fields_as_parse_qs(body: bytes) -> None:
    assert decode_form(body) == expected(body)


def test_same_fields_as_parse_qs_on_random_forms() -> None:
    rng = random.Random(8)
    alphabet = ["a", "Z", "0", "*", "#", "+", "=", "&", "%", "%2A", "%C3%A9", " ", "é", ";", "%4"]
    for _ in range(2000):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))).encode()
        decodes_like_parse_qs(body)


@pytest.mark.parametrize("body", [b"text=%C3%28", b"\xff\xfe=1"])
def test_invalid_utf8_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest, match="not valid UTF-8"):
        decode_form(body)


@pytest.mark.parametrize("name", ["sessionId", "text"])
def test_control_characters_are_refused_except_tab_and_line_breaks(name: str) -> None:
    """Every character below 32 but tab, newline and carriage return is a 400, in any field."""
    for code in [*range(32), 127, 0x85, 0xA0, 0x2028]:
        form = {name: [f"a{chr(code)}b"]}
        if code < 32 and chr(code) not in "\t\n\r":
            with pytest.raises(BadRequest, match="control characters"):
                form_field(form, name, required=False)
        else:
            assert form_field(form, name, required=False) == f"a{chr(code)}b"


def test_escapes_in_either_case_and_beyond_ascii_decode_like_parse_qs() -> None:
    rng = random.Random(80)
    alphabet = [
        "a",
        "+",
        "%",
        "%2a",
        "%2A",
        "%7f",
        "%7F",
        "%41",
        "%e2%82%ac",
        "%C3%A9",
        "%4",
        "%g1",
        "%80",
    ]
    for _ in range(2000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        body = f"text={value}&{value}=x".encode()
        decodes_like_parse_qs(body)
