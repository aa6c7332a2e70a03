"""Built-in short hints shown above a screen after a wrong entry; a menu may override any."""

from __future__ import annotations

DEFAULT_MESSAGES: dict[str, dict[str, str]] = {
    "invalid_choice": {"sw": "Chaguo si sahihi.", "en": "Invalid choice."},
    "too_short": {"sw": "Angalau herufi {min}.", "en": "At least {min} characters."},
    "too_long": {"sw": "Zisizidi herufi {max}.", "en": "At most {max} characters."},
    "invalid_format": {"sw": "Muundo si sahihi.", "en": "Invalid format."},
    "digits_only": {"sw": "Tarakimu tu.", "en": "Digits only."},
    "invalid_phone": {"sw": "Namba ya simu si sahihi.", "en": "Invalid phone number."},
    "invalid_reference": {
        "sw": "Namba ya kumbukumbu si sahihi.",
        "en": "Invalid reference number.",
    },
    "unavailable": {
        "sw": "Huduma haipatikani sasa, jaribu tena.",
        "en": "Service unavailable, try again.",
    },
    "not_confirmed": {
        "sw": "Tunathibitisha ombi lako; tuma tena.",
        "en": "Not confirmed yet; send again.",
    },
    "no_more": {"sw": "Hakuna zaidi.", "en": "No more items."},
    "more": {"sw": "Zaidi", "en": "More"},
    "back": {"sw": "Rudi", "en": "Back"},
    "home": {"sw": "Mwanzo", "en": "Home"},
}
"""Hints stay short: each is shown in front of a screen that must still fit on the phone."""

HINT_KEYS = frozenset(k for k in DEFAULT_MESSAGES if k not in {"more", "back", "home"})
