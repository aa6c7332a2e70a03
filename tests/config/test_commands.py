"""A configuration mistake as the operator meets it: the commands print its line and stop."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.serve import BIN


def gateway(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"USSD_CONFIG", "PORT"}}
    return subprocess.run(
        [str(BIN / "ussd-gateway"), *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "gateway.yaml"
    path.parent.mkdir()
    path.write_text(
        "sessions:\n  ttl: three\nsesions: {}\n"
        "backends:\n  feedback: {type: http, url: 'http://127.0.0.1:9/x', timeout: x}\n"
    )
    return path


LINES = [
    "sesions: unknown key, did you mean sessions?",
    "sessions.ttl: expected seconds, got 'three'",
    "backends.feedback.timeout: expected seconds, got 'x'",
]


def test_validate_lists_every_configuration_mistake_and_exits_1(bad: Path) -> None:
    result = gateway("--config", str(bad), "validate")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{bad}: {line}" for line in LINES]
    assert result.stderr == "configuration: 3 error(s)\n"


def test_serve_prints_the_lines_without_a_traceback_and_does_not_start(bad: Path) -> None:
    result = gateway("--config", str(bad), "serve")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{bad}: {line}" for line in LINES]
    assert result.stdout == ""


def test_a_bad_variable_is_named_as_the_variable() -> None:
    result = gateway("validate", env={"PORT": "eighty", "LOG_FORMAT": "yaml"})
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "environment: PORT: expected a whole number, got 'eighty'",
        "environment: LOG_FORMAT: expected one of text, json, got 'yaml'",
    ]


def test_a_backend_key_its_connector_does_not_know_stops_serve(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        "backends:\n  feedback: {type: http, url: 'http://127.0.0.1:9/x', retries: 3}\n"
    )
    result = gateway("--config", str(path), "serve", env={"PORT": "0"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"{path}: backends.feedback.retries: unknown key, did you mean retry?"
    )


@pytest.mark.parametrize(
    ("variable", "value", "shown"),
    [
        ("DATABASE_URL", "garbage", "'garbage'"),
        ("DATABASE_URL", "mysql://gateway:s3cret@db/gateway", "'mysql://gateway:***@db/gateway'"),
        ("REDIS_URL", "localhost:6379", "'localhost:6379'"),
    ],
)
def test_a_url_the_gateway_cannot_use_stops_serve_in_one_line(
    variable: str, value: str, shown: str
) -> None:
    result = gateway("serve", env={variable: value})
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"environment: {variable}: expected a ")
    assert line.endswith(f", got {shown}")
    assert "s3cret" not in result.stderr + result.stdout


def test_serve_reads_dotenv_in_its_directory_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# as in config/.env.example\nPORT=eighty\nLOG_FORMAT=yaml\n")
    clean = {k: v for k, v in os.environ.items() if k not in {"USSD_CONFIG", "PORT"}}
    result = subprocess.run(
        [str(BIN / "ussd-gateway"), "validate"],
        cwd=tmp_path,
        env={**clean, "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.splitlines() == [
        "environment: PORT: expected a whole number, got 'eighty'"
    ]
