"""Operators' journey tests (menus/tests/*.yaml) in the suite, and the runner's own behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, shipped_settings
from ussd_gateway.application.journeys import JourneyResult, load_journeys, run_files
from ussd_gateway.application.menus.loading import load_definitions
from ussd_gateway.engine.definition import Problem

JOURNEY_FILES = sorted((ROOT / "menus" / "tests").glob("*.yaml"))
BIN = Path(sys.executable).parent
HEAD = "service: mrejesho\njourneys:\n  - name: a\n    steps:\n"


async def run(*files: Path) -> list[JourneyResult | Problem]:
    settings = shipped_settings()
    return await run_files(list(files), settings, load_definitions(settings))


def test_journey_files_are_shipped() -> None:
    assert {f.name for f in JOURNEY_FILES} >= {
        "mrejesho_feedback.yaml",
        "mrejesho_navigation.yaml",
        "mrejesho_track.yaml",
        "mrejesho_language.yaml",
        "directory.yaml",
        "egov_meeting.yaml",
        "bills.yaml",
    }


@pytest.mark.parametrize("file", JOURNEY_FILES, ids=lambda f: f.name)
async def test_operator_journeys(file: Path) -> None:
    outcomes = await run(file)
    assert outcomes
    failures = [o for o in outcomes if isinstance(o, Problem) or not o.passed]
    report = "\n".join(str(o) if isinstance(o, Problem) else o.report() for o in failures)
    assert not failures, report


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "journey.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_wrong_expectation_fails_with_a_diff_of_the_screen(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "service: mrejesho\n"
        "journeys:\n"
        "  - name: wrong\n"
        "    steps:\n"
        '      - send: "1"\n'
        "        reply: |\n"
        "          Aina ya mrejesho\n"
        "          1. Lalamiko\n"
        "        screen: institution\n"
        '      - send: "1"\n',
    )
    [result] = await run(path)
    assert isinstance(result, JourneyResult) and not result.passed
    report = result.report()
    assert report.splitlines()[0] == f"FAIL {path}:3: wrong"
    assert '  step 2 (line 5): send "1"' in report
    assert "-1. Lalamiko\n    +1. Malalamiko" in report
    assert "expected screen 'institution', was on 'kind'" in report
    assert len(result.screens) == 2  # stopped at the failing step


async def test_send_00_is_home_not_back(tmp_path: Path) -> None:
    """Every value is text: an unquoted 00 is the home key, not the number 0 (back)."""
    path = write(
        tmp_path,
        "service: mrejesho\njourneys:\n  - name: home\n    steps:\n"
        "      - {send: 1}\n      - {send: 1}\n      - {send: 00, screen: home}\n",
    )
    [result] = await run(path)
    assert isinstance(result, JourneyResult)
    assert result.passed, result.report()


async def test_submitted_fields_are_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "service: mrejesho\njourneys:\n  - name: kind\n    steps:\n"
        + "".join(f'      - send: "{x}"\n' for x in ["1", "1", "1", "Umeme umekatika sana", "2"])
        + '      - send: "1"\n        submitted: {kind: suggestion, anonymous: "true"}\n',
    )
    [result] = await run(path)
    assert isinstance(result, JourneyResult) and not result.passed
    assert "submitted kind: expected 'suggestion', stored 'complaint'" in result.report()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            HEAD + "      - {send: '1', colour: x}\n",
            5,
            "a: unknown key 'colour' in a step",
        ),
        (
            "service: mrejesho\njourneys:\n  - name: a\n    steps:\n      - {expect: x}\n",
            5,
            "a: a step needs exactly one of 'dial' or 'send'",
        ),
        (
            "service: mrejesho\nsubmissions: [{reference: MREJ234A}]\n"
            "journeys:\n  - name: a\n    steps: [{send: '2'}]\n",
            2,
            "a: 'MREJ234A' is not a valid reference; with its check symbol it would be MREJ234Q",
        ),
        (
            HEAD + "      - {send: '1', end: maybe}\n",
            5,
            "a: 'end' must be true or false",
        ),
        ("service: mrejesho\njourney: []\n", 2, "-: unknown key 'journey' in a journey file"),
    ],
)
def test_journey_file_problems_name_their_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    _, problems = load_journeys(path)
    assert f"{path}:{line}: {message}" in [str(p).split(" (known")[0] for p in problems], problems


async def test_unknown_screen_and_service_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "service: mrejesho\njourneys:\n  - name: a\n    steps:\n      - {send: '1', screen: knd}\n"
        "  - name: b\n    service: mrejeso\n    steps: [{send: '1'}]\n",
    )
    first, second = await run(path)
    assert isinstance(first, JourneyResult) and isinstance(second, JourneyResult)
    assert [str(p) for p in first.problems] == [f"{path}:5: a: no screen 'knd' in mrejesho"]
    assert str(second.problems[0]).startswith(f"{path}:6: b: unknown service 'mrejeso'")


async def test_stubs_and_down_name_configured_backends(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "service: bills\njourneys:\n  - name: a\n    down: bils\n    steps: [{send: '1'}]\n"
        "  - name: b\n    stubs: {bils: {'*': 404}}\n    steps: [{send: '1'}]\n",
    )
    first, second = await run(path)
    assert isinstance(first, JourneyResult) and isinstance(second, JourneyResult)
    assert str(first.problems[0]).startswith(f"{path}:3: a: 'down' names no part or backend 'bils'")
    assert str(second.problems[0]).startswith(f"{path}:6: b: 'stubs' names no backend 'bils'")


def test_the_test_command_reports_and_exits_1_on_failure(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "service: mrejesho\njourneys:\n  - name: wrong home\n    steps:\n"
        "      - {dial: '', expect: Welcome}\n",
    )
    result = subprocess.run(
        [str(BIN / "ussd-gateway"), "test", str(bad), "menus/tests/mrejesho_track.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"FAIL {bad}:3: wrong home"
    assert "    -Welcome" in lines and "    +Karibu e-Mrejesho" in lines
    assert any(x.startswith("PASS menus/tests/mrejesho_track.yaml:") for x in lines)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("passed, 1 failed")


def test_the_test_command_passes_on_the_shipped_journeys() -> None:
    result = subprocess.run(
        [str(BIN / "ussd-gateway"), "test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(line.startswith("PASS ") for line in result.stdout.splitlines())
    assert result.stderr.strip().endswith(", 0 failed")
