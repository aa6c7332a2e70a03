"""Operators' documentation cannot drift from the engine's own grammar."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from tests.conftest import ROOT
from ussd_gateway.application.journeys import (
    DOWN_PARTS,
    FILE_KEYS,
    JOURNEY_KEYS,
    STEP_KEYS,
    SUBMISSION_KEYS,
)
from ussd_gateway.application.menus.graph import FORMATS
from ussd_gateway.engine.lint import RULES
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


def section(title: str) -> str:
    assert f"\n## {title}\n" in DOC, f"section '{title}' missing"
    return DOC.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_validation_rule_is_documented_with_its_severity() -> None:
    rules = section("Validation rules")
    for name, rule in RULES.items():
        row = next((r for r in rules.splitlines() if r.startswith(f"| `{name}` |")), None)
        assert row is not None, f"validation rule {name} is undocumented"
        assert f"| {rule.severity} |" in row, f"rule {name} is documented as the wrong severity"


def test_every_journey_test_key_is_documented() -> None:
    journeys = section("Journey tests")
    keys = FILE_KEYS | JOURNEY_KEYS | STEP_KEYS
    for key in sorted(keys):
        assert f"| `{key}` |" in journeys, f"journey-test key {key} is undocumented"
    for key in sorted(SUBMISSION_KEYS | DOWN_PARTS):
        assert f"`{key}`" in journeys, f"journey-test value {key} is undocumented"
    assert "ussd-gateway test" in journeys


def test_graph_command_and_formats_are_documented() -> None:
    graph = section("Drawing the flow")
    assert "ussd-gateway graph" in graph
    for fmt in FORMATS:
        assert f"`{fmt}`" in graph, f"graph format {fmt} is undocumented"


def test_the_list_examples_load() -> None:
    """The `list` section's YAML examples (search, lists from data) are menus that load."""
    from tests.engine.helpers import institutions, parse

    section_text = DOC.split("### `list`", 1)[1].split("\n### ", 1)[0]
    examples = section_text.split("```yaml\n")[1:]
    assert len(examples) == 2
    for example in examples:
        body = example.split("```", 1)[0]
        screen_id = body.split(":", 1)[0]
        screens = "\n".join("  " + line for line in body.splitlines())
        menu = (
            "service: doc\nlanguages: [sw, en]\n"
            "owner: {institution: x, contact: y}\nbackend: b\n"
            f"start: {screen_id}\nscreens:\n{screens}\n"
            "  body: {type: end, text: ok}\n  bill_show: {type: end, text: ok}\n"
        )
        _, problems = parse(menu, catalogues={"institutions": institutions()})
        assert [str(p) for p in problems if p.severity == "error"] == []


def test_the_app_entry_example_is_a_valid_directory(tmp_path: Path) -> None:
    """The `type: app` example in "Directories" loads as a directory entry, as documented."""
    from ussd_gateway.config.settings import NavigationKeys
    from ussd_gateway.engine.directory import DirectoryScreen, inspect_directory
    from ussd_gateway.engine.loader import load_menu

    block = section("Directories: many services on one code").split("  ```yaml\n")[1]
    services = textwrap.dedent(block.split("```", 1)[0])
    path = tmp_path / "directory.yaml"
    path.write_text(f"directory: serikali\ntitle: {{sw: Huduma, en: Services}}\n{services}")
    shutil.copy(ROOT / "menus" / "mrejesho.yaml", tmp_path / "mrejesho.yaml")
    from tests.engine.helpers import institutions

    mrejesho = load_menu(tmp_path / "mrejesho.yaml", catalogues={"institutions": institutions()})
    services_by_path = {str((tmp_path / "mrejesho.yaml").resolve()): mrejesho}
    definition, problems = inspect_directory(path, services_by_path, {}, NavigationKeys())
    assert [str(p) for p in problems] == []
    assert definition is not None
    screen = definition.screens["home"]
    assert isinstance(screen, DirectoryScreen)
    mount = screen.mount("benki")
    assert mount is not None
    assert mount.url == "https://ussd.benki.example.go.tz/at/callback"
    assert (mount.service_code, mount.timeout) == ("*150*01#", 2.0)


def test_the_readme_names_every_system_package_the_tests_need() -> None:
    """A newcomer reads the README, not .ci/run: each package .ci/run installs is named where
    the tests are explained."""
    import re

    ci = (ROOT / ".ci" / "run").read_text()
    packages = set(re.findall(r"apt-get install -y -qq ([\w-]+)", ci))
    readme = (ROOT / "README.md").read_text()
    tests_part = readme.split("**2. Run the tests**", 1)[1].split("### ", 1)[0]
    assert packages == {"redis-server", "graphviz", "chromium", "strace", "redis-tools", "haproxy"}
    assert {p for p in packages if f"`{p}`" not in tests_part} == set()
