"""Operators' documentation cannot drift from the engine's own grammar."""

from __future__ import annotations

from tests.conftest import ROOT
from ussd_gateway.engine.messages import DEFAULT_MESSAGES
from ussd_gateway.engine.screens import SCREEN_TYPES

DOC = (ROOT / "docs" / "menus.md").read_text()


def test_every_screen_type_and_key_is_documented() -> None:
    for name, cls in SCREEN_TYPES.items():
        assert f"### `{name}`" in DOC, f"screen type {name} is undocumented"
        section = DOC.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        for key in cls.keys:
            assert f"{key}:" in section or f"`{key}`" in section, f"{name}.{key} undocumented"


def test_every_builtin_message_is_documented() -> None:
    for key, texts in DEFAULT_MESSAGES.items():
        assert f"`{key}`" in DOC
        assert texts["sw"] in DOC or key in {"more", "back", "home"}
