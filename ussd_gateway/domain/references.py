"""Short references citizens can read out, write down and type back on a keypad.

Eight symbols from an alphabet without look-alikes (no 0/O, 1/I/L): seven random ones and a
check symbol, so a mistyped reference is rejected before any lookup instead of finding nothing
(or, worse, someone else's submission).

The check symbol is Luhn mod N with N = 31. Classic Luhn folds a doubled value by adding its
base-N digits, which is a bijection only for even N: for N = 31 it maps both 1 and 16 to 2, so
such a substitution would pass. N = 31 is prime, so doubling modulo 31 is itself a bijection; we
reduce modulo N instead of folding. That keeps Luhn's shape (weights 2, 1, 2, … from the right,
check = -sum mod N) and catches every single substitution and every adjacent transposition.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
N = len(ALPHABET)  # 31, prime
BODY_LENGTH = 7
LENGTH = BODY_LENGTH + 1

_INDEX = {symbol: index for index, symbol in enumerate(ALPHABET)}
_UNBIASED = 256 - 256 % N
"""Random bytes from here up are dropped: below it, ``byte % N`` is uniform."""


def new_reference() -> str:
    """A fresh random reference (31**7 ≈ 2.8e10 possibilities; the store retries collisions).

    Symbols come from one ``secrets.token_bytes`` call (``secrets.choice`` costs a system call
    per symbol), each byte under ``_UNBIASED`` kept, so every symbol stays equally likely.
    """
    body = ""
    while len(body) < BODY_LENGTH:
        body += "".join(
            ALPHABET[byte % N] for byte in secrets.token_bytes(2 * BODY_LENGTH) if byte < _UNBIASED
        )
    body = body[:BODY_LENGTH]
    return body + _check_for(body)


def normalise(text: str) -> str:
    """What the citizen typed, as stored: no spaces or hyphens, upper case."""
    return "".join(text.split()).replace("-", "").upper()


def is_valid(text: str) -> bool:
    """Whether ``text``, once normalised, is a well-formed reference with a correct check."""
    reference = normalise(text)
    if len(reference) != LENGTH or any(symbol not in _INDEX for symbol in reference):
        return False
    return _weighted_sum(reference, double_last=False) % N == 0


def check_symbol(body: str) -> str:
    """The symbol to append to ``body`` so the whole passes :func:`is_valid`'s check."""
    if any(symbol not in _INDEX for symbol in body):
        raise ValueError(f"reference body has symbols outside {ALPHABET!r}: {body!r}")
    return _check_for(body)


def _check_for(body: str) -> str:
    return ALPHABET[-_weighted_sum(body, double_last=True) % N]


def _weighted_sum(symbols: str, *, double_last: bool) -> int:
    """Sum of symbol values weighted 2, 1, 2, … (or 1, 2, 1, …) from the right, modulo N."""
    total = 0
    double = double_last
    for symbol in reversed(symbols):
        value = _INDEX[symbol]
        total += 2 * value if double else value
        double = not double
    return total % N
