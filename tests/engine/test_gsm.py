"""GSM 03.38 counting: a miscount means a citizen's screen is cut off or never arrives."""

from __future__ import annotations

import pytest

from ussd_gateway.domain.gsm import (
    GSM_BASIC,
    GSM_EXTENDED,
    fits_ussd,
    gsm7_length,
    is_gsm7,
    non_gsm7_chars,
    normalise_typography,
    sms_segments,
    ucs2_length,
    ussd_length,
)

SWAHILI = (
    "Karibu huduma za Serikali.\n1. Lipa ankara ya maji\n2. Angalia hali ya ombi\n"
    "3. Toa malalamiko (bure!)\n0. Rudi"
)
EMOJI = "\U0001f600"
RSQUO = "\u2019"  # the curly apostrophe translators love


def test_alphabet_tables_are_exact() -> None:
    assert len(GSM_BASIC) == 127  # 128 code points minus the escape
    assert GSM_EXTENDED == frozenset("\x0c^{}\\[]~|€")
    assert GSM_BASIC.isdisjoint(GSM_EXTENDED)
    for ch in "\n\r@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉÄÖÑÜ§¿äöñüà¤¡ ":
        assert ch in GSM_BASIC, repr(ch)
    for ch in "`çÀ\t\x1b\u2019€":
        assert ch not in GSM_BASIC, repr(ch)


def test_swahili_menu_is_gsm7_and_counted_one_to_one() -> None:
    assert is_gsm7(SWAHILI)
    assert gsm7_length(SWAHILI) == len(SWAHILI)
    assert ussd_length(SWAHILI) == (len(SWAHILI), 182, "gsm7")
    assert fits_ussd(SWAHILI)


def test_empty_text() -> None:
    assert ussd_length("") == (0, 182, "gsm7")
    assert sms_segments("") == (1, "gsm7")


@pytest.mark.parametrize("ch", sorted(GSM_EXTENDED))
def test_extension_characters_count_two(ch: str) -> None:
    assert is_gsm7("Bei " + ch)
    assert gsm7_length("Bei " + ch) == 6
    assert gsm7_length(ch * 3) == 6


@pytest.mark.parametrize("culprit", [RSQUO, EMOJI, "ç", "`", "\t"])
def test_one_character_outside_gsm_switches_to_ucs2(culprit: str) -> None:
    text = "Asante" + culprit
    assert not is_gsm7(text)
    assert gsm7_length(text) is None
    used, limit, encoding = ussd_length(text)
    assert (limit, encoding) == (80, "ucs2")
    assert used == ucs2_length(text)
    assert non_gsm7_chars(text + "a" + culprit) == culprit


def test_emoji_counts_two_utf16_units() -> None:
    assert ucs2_length(EMOJI) == 2
    assert ussd_length("Ok" + EMOJI) == (4, 80, "ucs2")


def test_ussd_gsm7_limit_boundary() -> None:
    assert fits_ussd("a" * 182)
    assert not fits_ussd("a" * 183)
    assert fits_ussd("a" * 180 + "€")
    assert not fits_ussd("a" * 181 + "€")
    assert ussd_length("a" * 181 + "€") == (183, 182, "gsm7")


def test_ussd_ucs2_limit_boundary() -> None:
    assert fits_ussd(RSQUO * 80)
    assert not fits_ussd(RSQUO * 81)
    assert fits_ussd("a" * 78 + EMOJI)
    assert not fits_ussd("a" * 79 + EMOJI)


def test_normalise_typography_makes_text_gsm7() -> None:
    text = (
        "\u201cKaribu\u201d \u2018ndugu\u2019 \u201eraia\u201d \u201amjini\u201b\u2026 "
        "saa 2\u20133 \u2014 bure\u00a0kabisa\u2009sasa\u202fhivi\n\u2022 1. Ndiyo"
    )
    assert ussd_length(text)[2] == "ucs2"
    normal = normalise_typography(text)
    assert normal == (
        "\"Karibu\" 'ndugu' \"raia\" 'mjini'... saa 2-3 - bure kabisa sasa hivi\n- 1. Ndiyo"
    )
    assert ussd_length(normal) == (len(normal), 182, "gsm7")


def test_normalise_typography_leaves_everything_else() -> None:
    text = "Ombi #12 [tayari] {ok} €5 ç " + EMOJI
    assert normalise_typography(text) == text
    assert normalise_typography(SWAHILI) == SWAHILI


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_sms_gsm7_segment_boundaries(length: int, parts: int) -> None:
    assert sms_segments("a" * length) == (parts, "gsm7")


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_sms_ucs2_segment_boundaries(length: int, parts: int) -> None:
    assert sms_segments(RSQUO * length) == (parts, "ucs2")


def test_sms_extension_characters_count_two_septets() -> None:
    assert sms_segments("a" * 158 + "€") == (1, "gsm7")
    assert sms_segments("a" * 159 + "€") == (2, "gsm7")


def test_sms_extension_character_is_not_split_across_parts() -> None:
    # 306 septets would be two parts, but the € cannot straddle septets 153/154.
    text = "a" * 152 + "€" + "a" * 152
    assert gsm7_length(text) == 306
    assert sms_segments(text) == (3, "gsm7")
    # When it ends exactly on the boundary, it stays put.
    assert sms_segments("a" * 151 + "€" + "a" * 153) == (2, "gsm7")


def test_sms_surrogate_pair_is_not_split_across_parts() -> None:
    assert sms_segments("a" * 68 + EMOJI) == (1, "ucs2")
    assert sms_segments("a" * 69 + EMOJI) == (2, "ucs2")
    # 134 units would be two parts, but the emoji cannot straddle units 67/68.
    text = "a" * 66 + EMOJI + "a" * 66
    assert ucs2_length(text) == 134
    assert sms_segments(text) == (3, "ucs2")
    assert sms_segments("a" * 65 + EMOJI + "a" * 67) == (2, "ucs2")
