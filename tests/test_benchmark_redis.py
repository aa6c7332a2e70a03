"""Benchmarks never write into a Redis that holds anything else: their own, or an empty one."""

from __future__ import annotations

import subprocess
import sys

import redis

from tests.conftest import ROOT


def _benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.store_transactions", "-n", "40", "-c", "2", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_benchmark_starts_its_own_redis_server() -> None:
    result = _benchmark()
    assert result.returncode == 0, result.stderr
    assert len([line for line in result.stdout.splitlines() if "CPU per transaction" in line]) == 3


def test_a_benchmark_refuses_a_redis_that_holds_other_keys(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("someone:else", "keep me")
        result = _benchmark("--redis-url", redis_url)
        assert result.returncode != 0
        assert "holds 1 key(s)" in result.stderr and "Traceback" not in result.stderr
        assert client.keys("*") == [b"someone:else"]  # nothing written, nothing removed
    finally:
        client.close()
