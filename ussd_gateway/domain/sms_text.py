"""Fitting a text into the configured number of SMS parts.

Counting is ``engine.gsm.sms_segments`` (GSM 03.38 septets with extension characters as two,
UCS-2 otherwise; 160/153 vs 70/67). A text over the cap is cut, not refused: a citizen's receipt
or reply that arrives shortened is better than none. It is cut at a word boundary and ends with
"..." (ASCII, so a GSM text stays GSM); ``ussd-gateway validate`` warns about menu texts that
can get there, so in practice only unusually long backend notes are cut.
"""

from __future__ import annotations

from ussd_gateway.domain.gsm import normalise_typography, sms_segments

ELLIPSIS = "..."


def segments(text: str) -> int:
    return sms_segments(text)[0]


def fit(text: str, max_segments: int) -> str:
    """``text`` with typography normalised, cut to at most ``max_segments`` parts."""
    text = normalise_typography(text).strip()
    if segments(text) <= max_segments:
        return text
    low, high = 0, len(text)  # longest prefix that fits with the ellipsis (monotone in length)
    while low < high:
        middle = (low + high + 1) // 2
        if segments(text[:middle].rstrip() + ELLIPSIS) <= max_segments:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    space = cut.rfind(" ")
    if space > low * 2 // 3:  # cut at a word unless that throws away a third of the room
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + ELLIPSIS
