"""``ussd-gateway graph``: the flow as Mermaid and DOT always, SVG/PNG through Graphviz."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.engine.helpers import build, mrejesho
from ussd_gateway.application.menus.graph import flow, to_dot, to_mermaid
from ussd_gateway.engine.loader import load_menu

BIN = Path(sys.executable).parent
HAS_DOT = shutil.which("dot") is not None


def gateway(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(BIN / "ussd-gateway"), "graph", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_every_screen_is_a_node_and_every_way_out_an_edge() -> None:
    definition = mrejesho()
    nodes, links = flow(definition)
    assert [n.id for n in nodes] == list(definition.screens)
    expected = {(s.id, e.target) for s in definition.screens.values() for e in s.targets()}
    assert {(link.source, link.target) for link in links} == expected
    assert [n.id for n in nodes if n.start] == ["home"]
    assert {n.id for n in nodes if n.end} == {"done", "cancelled", "track_result", "track_later"}


def test_mermaid_labels_options_and_marks_start_and_end() -> None:
    text = to_mermaid(mrejesho())
    assert text.startswith("flowchart TD\n")
    assert "  start__ --> s_home\n" in text
    assert '  s_home -->|"1. Toa mrejesho"| s_kind\n' in text
    assert '  s_kind -->|"5. Maoni"| s_institution\n' in text
    assert '  s_track_find -->|"not found"| s_track_missing\n' in text
    assert '  s_done(["done (end)<br/>Asante! Mrejesho umepokelewa."]):::endScreen\n' in text
    assert '  s_send{{"send (submit)<br/>backend: feedback"}}:::automatic\n' in text


def test_dot_marks_end_screens_with_a_double_border() -> None:
    text = to_dot(mrejesho())
    assert text.startswith('digraph "mrejesho" {')
    done = next(line for line in text.splitlines() if line.startswith('  "done" ['))
    assert "peripheries=2" in done
    assert '  "__start" -> "home";' in text
    assert '  "confirm" -> "cancelled" [label="2. Ghairi"];' in text


def test_mermaid_keywords_and_odd_ids_are_safe(tmp_path: Path) -> None:
    definition = build(
        tmp_path,
        """
        service: odd
        languages: [sw]
        start: graph
        screens:
          graph:
            type: menu
            text: 'Sema "habari"'
            options: [{label: Mwisho, next: end}]
          end: {type: end, text: Kwaheri}
        """,
    )
    text = to_mermaid(definition)
    assert '  s_graph["graph (menu)<br/>Sema #quot;habari#quot;"]\n' in text
    assert '  s_graph -->|"1. Mwisho"| s_end\n' in text
    assert re.search(r"^\s+end\b", text, re.MULTILINE) is None


def test_command_writes_mermaid_and_dot() -> None:
    mermaid = gateway("menus/mrejesho.yaml")
    assert mermaid.returncode == 0, mermaid.stderr
    assert mermaid.stdout.decode() == to_mermaid(mrejesho())
    dot = gateway("menus/mrejesho.yaml", "--format", "dot")
    assert dot.returncode == 0 and dot.stdout.decode().startswith('digraph "mrejesho"')


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz is not installed")
def test_command_draws_svg_and_png_with_graphviz(tmp_path: Path) -> None:
    svg = tmp_path / "flow.svg"
    result = gateway("menus/mrejesho.yaml", "-o", str(svg))
    assert result.returncode == 0, result.stderr
    drawing = svg.read_text()
    assert "<svg" in drawing and "track_missing (menu)" in drawing and "5. Maoni" in drawing
    png = tmp_path / "flow.png"
    assert gateway("menus/mrejesho.yaml", "--format", "png", "-o", str(png)).returncode == 0
    assert png.read_bytes().startswith(b"\x89PNG")


def test_svg_without_graphviz_says_what_to_do(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(BIN))  # a PATH on which there is no 'dot'
    result = gateway("menus/mrejesho.yaml", "--format", "svg", env=env)
    assert result.returncode == 2
    message = result.stderr.decode()
    assert "needs Graphviz's 'dot' program, which is not installed" in message
    assert "apt-get install graphviz" in message and "--format mermaid" in message
    assert "Traceback" not in message


def test_a_broken_menu_is_still_drawn_with_its_missing_screen(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    source = (ROOT / "menus" / "mrejesho.yaml").read_text()
    broken.write_text(source.replace("next: cancelled}", "next: canceled}"))
    result = gateway(str(broken))
    assert result.returncode == 0
    assert "leads to unknown screen 'canceled'" in result.stderr.decode()
    assert '  s_canceled["canceled<br/>(missing screen)"]:::missing\n' in result.stdout.decode()


def test_readme_picture_is_the_command_output() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block == to_mermaid(mrejesho())
    assert (ROOT / "docs" / "mrejesho.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_a_fetch_screen_draws_its_three_exits() -> None:
    chart = to_mermaid(load_menu(ROOT / "menus" / "bills.yaml"))
    for exit_ in ('|"found"| s_bill', '|"not found"| s_missing', '|"unavailable"| s_later'):
        assert f"s_find -->{exit_}" in chart, chart
