"""How a phone network counts a USSD or SMS text (GSM 03.38 / 3GPP TS 23.038).

A USSD string is at most 160 octets. In the GSM 7-bit default alphabet that is 182 septets; a
single character outside it switches the whole string to UCS-2 and the limit drops to 80 UTF-16
code units. Extension-table characters cost an escape septet plus their own. Feature phones
truncate or drop over-long replies, so every reply is measured here before it is sent.

Everything is precomputed at import time: these functions run on every hop.
"""

from __future__ import annotations

import math
from typing import Final, Literal

Encoding = Literal["gsm7", "ucs2"]

GSM_BASIC: Final[frozenset[str]] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"  # 0x1B, between Ξ and Æ, is the escape to the extension table
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The 127 characters of the GSM 03.38 default alphabet; each costs one septet."""

GSM_EXTENDED: Final[frozenset[str]] = frozenset("\x0c^{}\\[~]|€")
"""The GSM 03.38 extension table (form feed included); each costs two septets."""

GSM_ALL: Final[frozenset[str]] = GSM_BASIC | GSM_EXTENDED
"""Every character GSM-7 can write, with or without the escape."""

USSD_GSM7_LIMIT: Final = 182
USSD_UCS2_LIMIT: Final = 80

SMS_GSM7_SINGLE: Final = 160
SMS_GSM7_PART: Final = 153
"""Septets per part of a concatenated SMS: the user data header takes seven."""
SMS_UCS2_SINGLE: Final = 70
SMS_UCS2_PART: Final = 67

_TYPOGRAPHY: Final[dict[int, str]] = {
    **dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b"), "'"),
    **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f"), '"'),
    **dict.fromkeys(map(ord, "\u2013\u2014"), "-"),
    ord("\u2026"): "...",
    ord("\u2022"): "-",
    # No-break, fixed-width (en, em, thin, hair...) and narrow no-break spaces.
    **dict.fromkeys([0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F], " "),
}
"""Characters that word processors and translators insert and that would force UCS-2."""


def is_gsm7(text: str) -> bool:
    """True when the whole text can be sent in the GSM 7-bit alphabet."""
    return GSM_ALL.issuperset(text)


def gsm7_length(text: str) -> int | None:
    """Septets the text takes in GSM 7-bit, or ``None`` when it needs UCS-2."""
    chars = set(text)
    if chars <= GSM_BASIC:
        return len(text)
    extended = chars - GSM_BASIC
    if not extended <= GSM_EXTENDED:
        return None
    return len(text) + sum(text.count(ch) for ch in extended)


def ucs2_length(text: str) -> int:
    """UTF-16 code units: characters beyond the BMP (emoji) take a surrogate pair."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def non_gsm7_chars(text: str) -> str:
    """The distinct characters that force UCS-2, in order of appearance, to point at the culprit."""
    return "".join(dict.fromkeys(ch for ch in text if ch not in GSM_ALL))


def ussd_length(text: str) -> tuple[int, int, Encoding]:
    """``(used units, limit, encoding)`` of a USSD string, as the network counts it."""
    septets = gsm7_length(text)
    if septets is not None:
        return septets, USSD_GSM7_LIMIT, "gsm7"
    return ucs2_length(text), USSD_UCS2_LIMIT, "ucs2"


def fits_ussd(text: str) -> bool:
    """True when the text fits one USSD screen without being cut by the network."""
    used, limit, _ = ussd_length(text)
    return used <= limit


def normalise_typography(text: str) -> str:
    """Replace smart quotes, dashes, ellipses and odd spaces with GSM look-alikes.

    One curly apostrophe would halve the room on the screen; everything else is left alone.
    """
    return text.translate(_TYPOGRAPHY)


def _walk_parts(text: str, part: int, wide: frozenset[str] | None) -> int:
    """Count parts of ``part`` units, starting a new part rather than splitting a wide character.

    Wide characters take two units: the ``wide`` set (GSM extension table) or, when ``wide`` is
    ``None`` (UCS-2), characters beyond the BMP, which travel as a surrogate pair.
    """
    parts, used = 1, 0
    for ch in text:
        is_wide = ch in wide if wide is not None else ord(ch) > 0xFFFF
        width = 2 if is_wide else 1
        if used + width > part:
            parts += 1
            used = width
        else:
            used += width
    return parts


def sms_segments(text: str) -> tuple[int, Encoding]:
    """``(number of SMS parts, encoding)`` the text is billed and delivered as."""
    septets = gsm7_length(text)
    if septets is not None:
        if septets <= SMS_GSM7_SINGLE:
            return 1, "gsm7"
        if septets == len(text):  # no extension characters: nothing can straddle a boundary
            return math.ceil(septets / SMS_GSM7_PART), "gsm7"
        return _walk_parts(text, SMS_GSM7_PART, GSM_EXTENDED), "gsm7"
    units = ucs2_length(text)
    if units <= SMS_UCS2_SINGLE:
        return 1, "ucs2"
    if units == len(text):  # no surrogate pairs
        return math.ceil(units / SMS_UCS2_PART), "ucs2"
    return _walk_parts(text, SMS_UCS2_PART, None), "ucs2"
