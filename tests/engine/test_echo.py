"""What a citizen typed, shown back on a feature phone: it fits the screen whatever was typed.

The stored answer stays as typed; only the screen shows GSM-7 look-alikes, or a cut.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.helpers import ROOT, build, drive
from tests.engine.helpers import mrejesho as load_mrejesho
from ussd_gateway.domain.gsm import fits_ussd, is_gsm7, ussd_length
from ussd_gateway.engine.definition import MenuDefinition
from ussd_gateway.engine.echo import shown, transliterate
from ussd_gateway.engine.loader import load_menu

mrejesho = cache(load_mrejesho)

# directory-free walk of mrejesho: feedback, complaint, the first institution, the message
TO_MESSAGE = ["1", "1", "1"]


def test_typography_and_accents_become_their_gsm_look_alikes() -> None:
    assert transliterate("Ofisi — “imefungwa” tangu Jumatatu’s") == (  # noqa: RUF001
        'Ofisi - "imefungwa" tangu Jumatatu\'s'
    )
    assert transliterate("Dar es Salaam ā ş ł") == "Dar es Salaam a s ł"
    assert transliterate("asante 😡") == "asante 😡"  # no look-alike: left for the cut
    assert shown("Nimesubiri kitambulisho", cut=10) == "Nimesubiri..."


async def test_an_em_dash_in_the_message_keeps_the_confirm_screen_in_gsm7() -> None:
    message = "Nimesubiri kitambulisho — miezi sita bila majibu"
    journey = await drive(mrejesho(), [*TO_MESSAGE, message, "2"])
    assert journey.session.screen == "confirm"
    assert '"Nimesubiri kitambulisho - miezi sita bila majibu"' in journey.text
    assert is_gsm7(journey.text) and fits_ussd(journey.text)
    assert journey.session.vars["body"] == message  # stored as typed


async def test_an_emoji_is_cut_from_the_screen_not_from_the_message() -> None:
    message = "Nimesubiri kitambulisho miezi sita 😡 bila majibu yoyote kutoka ofisi"
    journey = await drive(mrejesho(), [*TO_MESSAGE, message, "2"])
    assert '"Nimesubiri kitambulisho miezi sita..."' in journey.text
    assert is_gsm7(journey.text) and fits_ussd(journey.text)
    assert journey.session.vars["body"] == message


async def test_characters_gsm7_counts_twice_shorten_the_echo_until_the_screen_fits(
    tmp_path: Path,
) -> None:
    menu = build(
        tmp_path,
        """
        service: echo
        languages: [sw]
        start: body
        screens:
          body:
            type: input
            text: {sw: "Andika"}
            validate: {max_length: 100}
            save_as: body
            next: confirm
          confirm:
            type: menu
            text: {sw: "Tuma:\\n{{ body }}"}
            options:
              - {label: {sw: "Tuma"}, next: done}
          done:
            type: end
            text: {sw: "Asante"}
        """,
    )
    journey = await drive(menu, ["€" * 100])
    used, limit, encoding = ussd_length(journey.text)
    assert (encoding, used <= limit) == ("gsm7", True)
    assert journey.text.startswith("Tuma:\n€€€") and "€..." in journey.text
    assert journey.session.vars["body"] == "€" * 100


FREE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    min_size=10,
    max_size=160,
).filter(lambda text: "*" not in text and "#" not in text and text.strip() == text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=FREE_TEXT)
async def test_every_mrejesho_screen_fits_whatever_unicode_the_message_holds(body: str) -> None:
    journey = await drive(mrejesho(), [*TO_MESSAGE, body, "2", "1"])
    for text in journey.texts:
        assert fits_ussd(text), (text, ussd_length(text))


EGOV = ROOT / "menus" / "egov_meeting.yaml"


@cache
def egov() -> MenuDefinition:
    return load_menu(EGOV)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(min_size=3, max_size=30).filter(lambda t: t.strip() == t and t.strip()),
    institution=st.text(min_size=2, max_size=25).filter(lambda t: t.strip() == t and t.strip()),
    position=st.text(min_size=2, max_size=20).filter(lambda t: t.strip() == t and t.strip()),
)
async def test_every_meeting_screen_fits_whatever_unicode_is_typed(
    name: str, institution: str, position: str
) -> None:
    journey = await drive(egov(), ["1", name, institution, position, "0712345678"])
    for text in journey.texts:
        assert fits_ussd(text), (text, ussd_length(text))
