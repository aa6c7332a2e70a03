"""The 4-hop comparison journey, shared by the load generators and the reference servers.

dial -> "1" (Give feedback) -> "1" (Complaint) -> typed text -> END with a reference. Every
server in the comparison (gateway with benchmarks/menus/bench.yaml, baseline.py, peer/) shows
the same screens, so a reply can be verified by the same markers whichever server sent it.
"""

from __future__ import annotations

import re

BENCH_CODE = "*152*99#"
MREJESHO_CODE = "*152*00#"

HOME = "Bench\n1. Give feedback\n2. Track feedback"
KIND = "Type of feedback\n1. Complaint\n2. Suggestion"
BODY = "Type your message"
DONE = "Thank you. Reference: {reference}"

REFERENCE = re.compile(r"(?:Reference|kumbukumbu): ([0-9A-Z]{6,16})")

# (entry typed for this hop, whether the reply ends the session, a marker the reply must hold)
# The typed text of hop 4 has spaces: form encoding and cumulative text must keep it whole.
BENCH_STEPS: tuple[tuple[str | None, bool, str], ...] = (
    (None, False, "Give feedback"),
    ("1", False, "Complaint"),
    ("1", False, BODY),
    ("Road to the clinic is flooded", True, "Reference: "),
)

# The real e-Mrejesho submission journey (menus/mrejesho.yaml, Swahili by default).
MREJESHO_STEPS: tuple[tuple[str | None, bool, str], ...] = (
    (None, False, "Karibu e-Mrejesho"),
    ("1", False, "Aina ya mrejesho"),
    ("1", False, "Chagua taasisi"),
    ("1", False, "Andika ujumbe wako"),
    ("Barabara ya kwenda zahanati imejaa maji", False, "kujitambulisha"),
    ("2", False, "Tuma kwa"),
    ("1", True, "Namba ya kumbukumbu: "),
)

JOURNEYS = {"bench": (BENCH_CODE, BENCH_STEPS), "mrejesho": (MREJESHO_CODE, MREJESHO_STEPS)}
