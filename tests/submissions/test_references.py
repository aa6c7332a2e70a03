"""References: short, typeable, and a single slip of the thumb is caught before any lookup."""

from __future__ import annotations

import random

import pytest

from ussd_gateway.domain import references
from ussd_gateway.domain.references import (
    ALPHABET,
    check_symbol,
    is_valid,
    new_reference,
    normalise,
)

SAMPLE = [new_reference() for _ in range(200)]


def test_alphabet_has_no_look_alikes() -> None:
    assert len(ALPHABET) == 31 == len(set(ALPHABET))
    assert not set("01OIL") & set(ALPHABET)


def test_new_reference_is_eight_symbols_of_the_alphabet_and_valid() -> None:
    for reference in SAMPLE:
        assert len(reference) == 8
        assert set(reference) <= set(ALPHABET)
        assert is_valid(reference)
        assert reference[-1] == check_symbol(reference[:-1])


def test_every_single_substitution_is_detected() -> None:
    for reference in SAMPLE:
        for position, original in enumerate(reference):
            for symbol in ALPHABET:
                if symbol != original:
                    typo = reference[:position] + symbol + reference[position + 1 :]
                    assert not is_valid(typo), (reference, typo)


def test_substitutions_classic_luhn_folding_would_miss_are_detected() -> None:
    # Folding doubled values by base-31 digit sum maps values 1 and 16 both to 2: "3" <-> "J".
    body = "2222222"  # last body symbol is doubled
    reference = body + check_symbol(body)
    assert ALPHABET[1] == "3" and ALPHABET[16] == "J"
    assert not is_valid(body[:-1] + "3" + reference[-1])
    assert not is_valid(body[:-1] + "J" + reference[-1])


def test_adjacent_transpositions_are_detected() -> None:
    swaps = detected = 0
    for reference in SAMPLE:
        for position in range(len(reference) - 1):
            a, b = reference[position], reference[position + 1]
            if a == b:
                continue
            swapped = reference[:position] + b + a + reference[position + 2 :]
            swaps += 1
            detected += not is_valid(swapped)
    # Weights 1 and 2 modulo a prime: every swap of two different symbols changes the sum.
    assert swaps > 1000
    assert detected == swaps


def test_random_strings_rarely_pass() -> None:
    rng = random.Random(31)
    trials = 31_000
    passed = sum(is_valid("".join(rng.choices(ALPHABET, k=8))) for _ in range(trials))
    assert passed < trials / 31 * 1.3  # about one in 31


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("abcd efgh", "ABCDEFGH"),
        ("ab-cd-ef-gh", "ABCDEFGH"),
        ("  AbCd-EfGh \t", "ABCDEFGH"),
        ("", ""),
    ],
)
def test_normalise(typed: str, expected: str) -> None:
    assert normalise(typed) == expected


def test_lowercase_spaced_and_hyphenated_references_are_accepted() -> None:
    for reference in SAMPLE[:20]:
        assert is_valid(reference.lower())
        assert is_valid(f"{reference[:4]}-{reference[4:]}")
        assert is_valid(f" {reference[:4].lower()} {reference[4:]} ")


@pytest.mark.parametrize(
    "text",
    ["", "2345678", "234567892", "O2345678", "1234567I", "ABCD!EFG", "ÄBCDEFGH"],
)
def test_malformed_text_is_invalid(text: str) -> None:
    assert not is_valid(text)


def test_check_symbol_rejects_symbols_outside_the_alphabet() -> None:
    with pytest.raises(ValueError, match="outside"):
        check_symbol("ABC0EFG")


def test_check_symbol_of_known_body() -> None:
    # Pinned so the algorithm cannot drift and invalidate references already handed out.
    # From the right: G(14)*2 + F(13) + E(12)*2 + D(11) + C(10)*2 + B(9) + A(8)*2 = 121;
    # 121 mod 31 = 28; check value 31 - 28 = 3 -> "5".
    assert check_symbol("ABCDEFG") == "5"
    assert is_valid("ABCDEFG5")


def test_references_do_not_repeat() -> None:
    draws = [new_reference() for _ in range(20_000)]
    # 31**7 bodies: one repeat among 20 000 draws has odds under 1%; two, about 3 in 100 000.
    assert len(set(draws)) >= len(draws) - 1
    assert references.LENGTH == 8


def test_every_symbol_is_equally_likely_in_every_position() -> None:
    """A guessable reference would let a stranger track someone else's submission."""
    bodies = [new_reference()[:-1] for _ in range(31_000)]
    for position in range(references.BODY_LENGTH):
        counts = [0] * len(ALPHABET)
        for body in bodies:
            counts[ALPHABET.index(body[position])] += 1
        expected = len(bodies) / len(ALPHABET)
        chi_square = sum((n - expected) ** 2 / expected for n in counts)
        # 30 degrees of freedom: above 80 has odds under one in a million by chance; a
        # ``byte % 31`` bias (9/256 instead of 8/256 for 8 symbols) scores ~400
        assert chi_square < 80, (position, counts)
