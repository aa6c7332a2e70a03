"""A picture of a service's flow: screens as nodes, ways out as labelled edges.

Edges come from each screen type's own ``targets()``, the very definition validation and the
engine use, so the picture cannot show a path the service does not have (or miss one it has).
Mermaid and Graphviz DOT are plain text written here; SVG and PNG are drawn by Graphviz's ``dot``
program when it is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from ussd_gateway.engine.definition import MenuDefinition

FORMATS = ("mermaid", "dot", "svg", "png")
LABEL_WIDTH = 32


class GraphvizMissing(RuntimeError):
    """SVG/PNG need Graphviz's ``dot``; the message says how to get it or what to use instead."""


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    kind: str
    text: str
    start: bool
    end: bool
    automatic: bool
    missing: bool = False

    @property
    def label(self) -> str:
        if self.missing and self.kind == "service":
            return f"{self.id}\n(temporarily unavailable)"
        if self.missing:
            return f"{self.id}\n(missing screen)"
        return f"{self.id} ({self.kind})" + (f"\n{self.text}" if self.text else "")


@dataclass(frozen=True, slots=True)
class Link:
    source: str
    target: str
    label: str


def _short(text: str, width: int = LABEL_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def _text_of(definition: MenuDefinition, screen_id: str) -> str:
    """The first words a citizen sees on a screen, in the service's first language."""
    screen = definition.screens[screen_id]
    if not screen.interactive:  # automatic screens show nothing: say what they do instead
        for key in ("backend", "reference"):
            value = getattr(screen, key, "")
            if isinstance(value, str) and value:
                return f"{key}: {value}"
        return ""
    texts = screen.texts()
    if not texts:
        return ""
    source = texts[0].sources().get(definition.default_language, "")
    lines = [line for line in source.splitlines() if line.strip()]
    plain = [line for line in lines if not line.strip().startswith(("{{", "{%"))]
    return _short((plain or lines or [""])[0])


def flow(definition: MenuDefinition) -> tuple[list[Node], list[Link]]:
    """Nodes and links of a service, in file order; targets naming no screen become nodes
    marked missing, so a broken menu can still be looked at."""
    nodes = [
        Node(
            id=screen.id,
            kind=screen.type_name,
            text=_text_of(definition, screen.id),
            start=screen.id == definition.start,
            end=screen.ends,
            automatic=not screen.interactive,
        )
        for screen in definition.screens.values()
    ]
    links: list[Link] = []
    missing: list[str] = []
    for screen in definition.screens.values():
        for edge in screen.targets():
            links.append(Link(screen.id, edge.target, _short(edge.label, 28)))
            if edge.target not in definition.screens and edge.target not in missing:
                missing.append(edge.target)
    nodes += [Node(t, "", "", False, False, False, missing=True) for t in missing]
    return nodes, links


def directory_flow(
    directory: MenuDefinition, services: Mapping[str, MenuDefinition], code: str = ""
) -> Drawn:
    """A directory: its list, each service (first screen, owner, extended code) and the way back.

    A service whose file is broken is drawn like a missing screen: "temporarily unavailable".
    """
    from ussd_gateway.engine.directory import DirectoryScreen, entry_line

    screen = directory.screens[directory.start]
    assert isinstance(screen, DirectoryScreen)
    language = directory.default_language
    nodes = [
        Node(
            directory.start,
            "directory",
            _short(screen.title.render(language, {})),
            True,
            False,
            False,
        )
    ]
    links: list[Link] = []
    back = directory.navigation.directory
    for index, entry in enumerate(screen.entries):
        service = services.get(entry.service)
        owner = str(service.owner.get("institution", "")) if service else ""
        dial = f"{code[:-1]}*{index + 1}#" if code else ""
        text = "\n".join(
            line
            for line in (_text_of(service, service.start) if service else "", _short(owner), dial)
            if line
        )
        nodes.append(Node(entry.service, "service", text, False, False, False, not entry.available))
        label = _short(entry_line(entry, index, language, screen.unavailable))
        links.append(Link(directory.start, entry.service, label))
        if entry.available:
            links.append(Link(entry.service, directory.start, f"{back} (directory)"))
    for edge in screen.targets():  # its language screen, when it offers one
        chooser = directory.screens.get(edge.target)
        if chooser is not None:
            text = _short(chooser.texts()[0].render(language, {})) if chooser.texts() else ""
            nodes.append(Node(edge.target, chooser.type_name, text, False, False, False))
            links.append(Link(directory.start, edge.target, _short(edge.label)))
            links += [Link(edge.target, e.target, _short(e.label)) for e in chooser.targets()]
    return nodes, links


# ---- Mermaid ----


def _mermaid_id(screen_id: str) -> str:
    # "end" and friends are Mermaid keywords: every id gets a prefix and only safe characters
    return "s_" + re.sub(r"[^A-Za-z0-9_]", "_", screen_id)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("\n", "<br/>")


Drawn = tuple[list[Node], list[Link]]
"""Nodes and links to draw; ``flow`` of the definition unless given (e.g. a directory's)."""


def to_mermaid(definition: MenuDefinition, drawn: Drawn | None = None) -> str:
    nodes, links = drawn or flow(definition)
    lines = ["flowchart TD", "  start__((start))"]
    for node in nodes:
        label = _mermaid_text(node.label)
        nid = _mermaid_id(node.id)
        if node.end:
            lines.append(f'  {nid}(["{label}"]):::endScreen')
        elif node.automatic:
            lines.append(f'  {nid}{{{{"{label}"}}}}:::automatic')
        elif node.missing:
            lines.append(f'  {nid}["{label}"]:::missing')
        else:
            lines.append(f'  {nid}["{label}"]')
    lines.append(f"  start__ --> {_mermaid_id(definition.start)}")
    for link in links:
        arrow = f'-->|"{_mermaid_text(link.label)}"|' if link.label else "-->"
        lines.append(f"  {_mermaid_id(link.source)} {arrow} {_mermaid_id(link.target)}")
    lines += [
        "  classDef endScreen fill:#e8f5e9,stroke:#2e7d32,stroke-width:2px",
        "  classDef automatic fill:#fff8e1,stroke:#f9a825",
        "  classDef missing fill:#ffebee,stroke:#c62828,stroke-dasharray:4",
    ]
    return "\n".join(lines) + "\n"


# ---- Graphviz DOT ----


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(definition: MenuDefinition, drawn: Drawn | None = None) -> str:
    nodes, links = drawn or flow(definition)
    lines = [
        f"digraph {_dot_text(definition.service)} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#e3f2fd", fontname="Helvetica",'
        " fontsize=11];",
        '  edge [fontname="Helvetica", fontsize=9];',
        '  "__start" [shape=circle, label="start", width=0.6, fillcolor="#212121",'
        " fontcolor=white, style=filled];",
    ]
    for node in nodes:
        attrs = [f"label={_dot_text(node.label)}"]
        if node.end:
            attrs += ["shape=box", "peripheries=2", 'fillcolor="#e8f5e9"', 'color="#2e7d32"']
        elif node.automatic:
            attrs += ["shape=hexagon", 'fillcolor="#fff8e1"', 'color="#f9a825"']
        elif node.missing:
            attrs += ['style="dashed,filled"', 'fillcolor="#ffebee"', 'color="#c62828"']
        if node.start:
            attrs.append("penwidth=2")
        lines.append(f"  {_dot_text(node.id)} [{', '.join(attrs)}];")
    lines.append(f"  {_dot_text('__start')} -> {_dot_text(definition.start)};")
    for link in links:
        label = f" [label={_dot_text(link.label)}]" if link.label else ""
        lines.append(f"  {_dot_text(link.source)} -> {_dot_text(link.target)}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_with_graphviz(dot_source: str, fmt: str, *, timeout: float = 60) -> bytes:
    """SVG or PNG bytes drawn by Graphviz; GraphvizMissing when ``dot`` is not installed."""
    program = shutil.which("dot", path=os.environ.get("PATH"))
    if program is None:
        raise GraphvizMissing(
            f"--format {fmt} needs Graphviz's 'dot' program, which is not installed "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz); "
            "--format mermaid and --format dot work without it"
        )
    result = subprocess.run(
        [program, f"-T{fmt}"],
        input=dot_source.encode(),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def render(definition: MenuDefinition, fmt: str, drawn: Drawn | None = None) -> bytes:
    """The picture in one of ``FORMATS``."""
    if fmt == "mermaid":
        return to_mermaid(definition, drawn).encode()
    if fmt == "dot":
        return to_dot(definition, drawn).encode()
    if fmt in {"svg", "png"}:
        return render_with_graphviz(to_dot(definition, drawn), fmt)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
