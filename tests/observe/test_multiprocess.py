"""With PROMETHEUS_MULTIPROC_DIR, any process's /metrics shows the sum over all processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT

WORKER = """
import sys
from ussd_gateway.adapters.observe.metrics import HOP_SECONDS, HOPS
for _ in range(int(sys.argv[1])):
    HOPS.labels("mrejesho", "africastalking", "CON").inc()
    HOP_SECONDS.labels("mrejesho", "africastalking").observe(0.02)
"""

SCRAPE = """
import sys
from ussd_gateway.adapters.observe.metrics import exposition
sys.stdout.write(exposition().decode())
"""


def run(code: str, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_processes_add_up(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    run(WORKER, "3", env=env)
    run(WORKER, "4", env=env)
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file per process
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(run(SCRAPE, env=env))
        for s in family.samples
    }
    labels = (("kind", "CON"), ("provider", "africastalking"), ("service", "mrejesho"))
    assert samples[("ussd_hops_total", labels)] == 7
    assert samples[("ussd_hop_duration_seconds_count", labels[1:])] == 7
    assert samples[("ussd_hop_duration_seconds_bucket", (("le", "0.025"), *labels[1:]))] == 7


def test_without_the_directory_each_process_counts_alone(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    assert "ussd_hops_total{" not in run(SCRAPE, env=env)
    assert list(tmp_path.iterdir()) == []
