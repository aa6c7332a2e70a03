"""``ussd-gateway validate`` on a copy of e-Mrejesho broken in every way the validator knows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
OTHER = 'service: other\nlanguages: [sw]\nstart: home\ncodes: ["*152*00#"]\n' + (
    'screens:\n  home: {type: end, text: "Habari"}\n'
)

BREAKS = [
    ("start: home\n", 'start: home\ncodes: ["*152*00#"]\nversion: 2\n'),
    ("  cancelled:\n    type: end", "  cancelled:\n    type: goodbye"),
    (
        "    save_as: body\n    next: identify\n",
        "    save_as: body\n    colour: red\n    next: identify\n",
    ),
    ("    save_as: name\n", "    save_as: [name]\n"),
    ("next: institution}", "next: instituion}"),
    (
        "  track_later:\n",
        '  survey:\n    type: menu\n    text: {sw: "Maoni", en: "Rate us"}\n'
        '    options:\n      - {label: {sw: "Nzuri", en: "Good"}}\n\n  track_later:\n',
    ),
    ('text: {sw: "Chagua lugha", en: "Choose language"}', 'text: {sw: "Chagua lugha"}'),
    (
        "{% if anonymous %}\\n(bila jina){% endif %}",
        "{% if anonymous %}\\n(bila jina){% else %}\\n" + "J" * 90 + "{% endif %}",
    ),
    ("kumbukumbu: {{ reference }}\\n", "kumbukumbu: {{ referense }}\\n"),
    ("    validate: {reference: true}\n", ""),
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ussd-gateway"), "validate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def line(text: str, needle: str) -> int:
    return next(n for n, x in enumerate(text.splitlines(), 1) if needle in x)


def test_every_break_is_blamed_on_its_line(tmp_path: Path) -> None:
    source = (ROOT / "menus" / "mrejesho.yaml").read_text()
    for old, new in BREAKS:
        assert old in source, old
        source = source.replace(old, new, 1)
    source += '\n  track_later:\n    type: end\n    text: {sw: "Baadaye.", en: "Later."}\n'
    broken = tmp_path / "mrejesho.yaml"
    broken.write_text(source)
    other = tmp_path / "other.yaml"
    other.write_text(OTHER)

    result = run(str(other), str(broken))
    assert result.returncode == 1
    out = result.stdout.splitlines()
    at = f"{broken}:"

    def first_of(screen: str) -> int:
        return line(source, f"  {screen}:") + 1

    expected = [
        f"{at}{line(source, 'codes:')}: -: short code *152*00# is claimed by 'mrejesho' and by "
        f"'other' ({other}:4)",
        f"{at}{line(source, 'version: 2')}: -: unknown key 'version'",
        f"{at}{line(source, 'type: goodbye')}: cancelled: unknown screen type 'goodbye' (known: "
        "end, fetch, input, list, lookup, menu, router, submit)",
        f"{at}{line(source, 'colour: red')}: body: unknown key 'colour' for an input screen",
        f"{at}{line(source, 'save_as: [name]')}: name: 'save_as' must be a variable name "
        "(letters, digits, _)",
        f"{at}{line(source, 'next: instituion')}: kind: leads to unknown screen 'instituion'",
        f"{at}{first_of('survey')}: survey: warning: no path reaches this screen",
        f"{at}{first_of('survey')}: survey: no way forward and not an end screen",
        f"{at}{line(source, 'Chagua lugha')}: language: 'text' has no text in en",
        f"{at}{line(source, 'JJJJJJJJ')}: confirm: sw: screen can reach 217 characters (gsm7), "
        "over the 182 a phone shows",
        f"{at}{line(source, 'referense')}: done: uses variable 'referense' that no earlier "
        "screen sets",
        f"{at}{first_of('track_ref')}: track_ref: warning: input has no validation: anything "
        "typed is accepted",
        f"{at}{len(source.splitlines()) - 2}: track_later: screen defined twice; the first is "
        "ignored",
    ]
    missing = [x for x in expected if x not in out]
    assert not missing, "\n".join(["missing:", *missing, "output:", *out])
    numbers = [int(x.split(":")[1]) for x in out if x.startswith(at)]
    assert numbers == sorted(numbers)  # one pass down the file
    assert "Traceback" not in result.stderr


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    source = (ROOT / "menus" / "mrejesho.yaml").read_text()
    menu = tmp_path / "mrejesho.yaml"
    menu.write_text(
        source.replace(
            "    validate: {reference: true}\n", "    validate: {min_length: 8, max_length: 8}\n"
        )
        + '\n  orphan: {type: end, text: {sw: "Peke", en: "Alone"}}\n'
    )
    result = run(str(menu))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        f"{menu}:{line(menu.read_text(), 'orphan:')}: orphan: warning: no path reaches this screen"
    ]
    assert result.stderr.strip() == "1 file(s): 0 error(s), 1 warning(s)"


def test_a_service_keyword_also_in_the_sms_config_is_an_error_naming_both(tmp_path: Path) -> None:
    config = (ROOT / "config" / "gateway.yaml").read_text()
    route = "    - {words: FEEDBACK, language: en, action: feedback, service: mrejesho}\n"
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "institutions.yaml", tmp_path / "config")
    shutil.copytree(ROOT / "menus", tmp_path / "menus")  # paths are relative to the project
    clashing = tmp_path / "config" / "gateway.yaml"
    clashing.write_text(config.replace("  keywords:\n", "  keywords:\n" + route, 1))
    result = subprocess.run(
        [str(BIN / "ussd-gateway"), "validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "USSD_CONFIG": str(clashing)},
    )
    assert result.returncode == 1, result.stdout
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'menus' / 'mrejesho.yaml'}:8: keywords: SMS keyword FEEDBACK of service "
        f"'mrejesho' is also declared in {clashing} (sms.keywords[0]): remove one of them"
    ]
