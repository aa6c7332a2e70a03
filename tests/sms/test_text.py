"""Counting SMS parts as the network bills them, and cutting a text to the cap."""

from __future__ import annotations

import pytest

from ussd_gateway.domain.gsm import sms_segments
from ussd_gateway.domain.sms_text import fit, segments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, (1, "gsm7")),
        ("a" * 161, (2, "gsm7")),
        ("a" * 306, (2, "gsm7")),
        ("a" * 307, (3, "gsm7")),
        ("€" * 80, (1, "gsm7")),  # extension characters take two septets each
        ("€" * 81, (2, "gsm7")),
        ("ŵ" * 70, (1, "ucs2")),  # one character outside GSM: the whole text is UCS-2
        ("a" * 69 + "✓", (1, "ucs2")),
        ("a" * 70 + "✓", (2, "ucs2")),
        ("a" * 133 + "✓", (2, "ucs2")),
        ("a" * 134 + "✓", (3, "ucs2")),
        ("😀" * 35, (1, "ucs2")),  # beyond the BMP: two UTF-16 units each
        ("😀" * 36, (2, "ucs2")),
    ],
)
def test_segments_as_the_network_counts_them(text: str, expected: tuple[int, str]) -> None:
    assert sms_segments(text) == expected


def test_a_fitting_text_is_only_normalised() -> None:
    assert fit("Asante \u2019mteja\u2019 \u2013 karibu", 1) == "Asante 'mteja' - karibu"


def test_a_long_gsm_text_is_cut_at_a_word_with_an_ascii_ellipsis() -> None:
    text = " ".join(f"neno{n}" for n in range(100))
    cut = fit(text, 2)
    assert segments(cut) == 2 and cut.endswith("...") and len(cut) <= 306
    assert text.startswith(cut[:-3]) and text[len(cut) - 3] == " "  # a whole word kept


def test_a_ucs2_text_is_cut_to_ucs2_parts() -> None:
    text = "✓ " + "habari " * 40
    cut = fit(text, 2)
    assert sms_segments(cut) == (2, "ucs2") and len(cut) <= 134 and cut.endswith("...")
