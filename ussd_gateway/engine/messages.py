"""Built-in short hints shown above a screen after a wrong entry; a menu may override any."""

from __future__ import annotations

DEFAULT_MESSAGES: dict[str, dict[str, str]] = {
    "invalid_choice": {"sw": "Chaguo si sahihi.", "en": "Invalid choice."},
    "choose_from": {
        "sw": "Chaguo si sahihi. Chagua {choices}.",
        "en": "Invalid choice. Pick {choices}.",
    },
    "too_short": {"sw": "Andika angalau herufi {min}.", "en": "Type at least {min} characters."},
    "too_long": {"sw": "Usizidishe herufi {max}.", "en": "Type at most {max} characters."},
    "invalid_format": {"sw": "Muundo si sahihi.", "en": "Invalid format."},
    "digits_only": {"sw": "Andika tarakimu tu.", "en": "Type digits only."},
    "invalid_phone": {"sw": "Namba ya simu si sahihi.", "en": "Invalid phone number."},
    "invalid_reference": {
        "sw": "Namba ya kumbukumbu si sahihi.",
        "en": "Invalid reference number.",
    },
    "unavailable": {
        "sw": "Huduma haipatikani sasa, jaribu tena.",
        "en": "Service unavailable, try again.",
    },
    "type_again": {"sw": "Tafadhali andika tena.", "en": "Please type it again."},
    "not_confirmed": {
        "sw": "Tunathibitisha ombi lako; tuma tena.",
        "en": "Not confirmed yet; send again.",
    },
    "no_more": {"sw": "Hakuna zaidi.", "en": "No more items."},
    "confirm_cut": {
        "sw": 'Ujumbe ni mrefu. Tutatuma herufi {max} za kwanza, hadi:\n"...{tail}"\n'
        "1. Sawa, tuma hivyo\n2. Andika upya",
        "en": "Your message is long. We will send the first {max} characters, up to:\n"
        '"...{tail}"\n1. OK, send that\n2. Type again',
    },
    "no_match": {
        "sw": 'Hakuna inayolingana na "{term}".',
        "en": 'Nothing matches "{term}".',
    },
    "search_results": {"sw": 'Matokeo ya "{term}":', "en": 'Results for "{term}":'},
    "more": {"sw": "Zaidi", "en": "More"},
    "back": {"sw": "Rudi", "en": "Back"},
    "home": {"sw": "Mwanzo", "en": "Home"},
}
"""Hints stay short: each is shown in front of a screen that must still fit on the phone.

A wrong choice names the choices (``choose_from``) where the screen knows them; hints start
with what to do ("Andika…"), not with what went wrong."""


def choices(count: int) -> dict[str, str]:
    """``choose_from``'s parameter for options numbered 1 to ``count``: "1-5", or "1"."""
    return {"choices": "1" if count == 1 else f"1-{count}"}


HINT_KEYS = frozenset(
    k
    for k in DEFAULT_MESSAGES
    if k not in {"more", "back", "home", "confirm_cut", "no_match", "search_results"}
)
"""Hints every screen keeps room for. A search's texts are left out: they carry what the
citizen typed, so a list cuts the term to the room it has (``ListScreen``)."""
