"""Side-by-side throughput of the gateway and the two reference servers, one table.

Starts a private redis-server on a free 127.0.0.1 port, then each server in turn (the gateway on
Redis with each ``--workers`` count, the gateway on the in-process store, the bare aiohttp
baseline, the express + ussd-menu-builder peer), drives the same 4-hop journey
(benchmarks/journey.py) with the same client, and prints hops/s, p50, p99, errors and the
gateway's ratios to the baseline and the peer, plus the Redis memory of sampled live sessions.

Run: ``python -m benchmarks.compare`` (defaults: 10 s per server, 50 connections, wrk when
installed, else the Python load generator). Figures are only comparable within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER = HERE / "peer"
LUA = HERE / "wrk" / "journey.lua"
BENCH_CONFIG = HERE / "config" / "gateway.yaml"


@dataclass
class Target:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    redis_db: int | None = None
    """The Redis database it keeps sessions in (sampled for memory), None when not on Redis."""


@dataclass
class Row:
    name: str
    client: str
    result: dict[str, object]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc); the gateway's workers are its children."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        with contextlib.suppress(OSError):
            todo += [int(child) for child in children.read_text().split()]
    return out


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid`` and its descendants.

    On a busy machine wall-clock throughput is noisy; CPU time per hop is not.
    """
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all cores spent not idle so far (/proc/stat), for the whole machine.

    With the client, Redis and the database on the same cores as the server, this says whether
    the machine, not the server, was the limit (busy seconds / wall seconds = cores in use).
    """
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[int, int]]:
    port = free_port()
    command = [
        "redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    with running(command, {}, workdir, workdir / "redis.log") as process:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port, process.pid


def run_client(
    client: str, url: str, args: argparse.Namespace, seconds: float
) -> dict[str, object]:
    if client == "wrk":
        command = [
            "wrk",
            f"-t{args.connections}",
            f"-c{args.connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",  # a slow reply counts in the latency, not as a socket error
            "-s",
            str(LUA),
            url,
        ]
        env = {**os.environ, "BENCH_RUN": str(time.time_ns())}
    else:
        command = [
            sys.executable,
            "-m",
            "benchmarks.loadgen",
            "--url",
            url,
            "--journey",
            "bench",
            "-c",
            str(args.connections),
            "-n",
            str(args.sessions),
            "-d",
            f"{seconds:g}",
        ]
        env = dict(os.environ)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 60
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{client} printed no result: {done.stdout[-500:]} {done.stderr[-500:]}")
    result: dict[str, object] = json.loads(lines[-1])
    spent = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    result["client_cpu_ms_per_hop"] = round(spent * 1000 / max(int(result["hops"]), 1), 3)
    return result


def session_memory(redis_port: int, db: int, sample: int = 200) -> dict[str, float]:
    """MEMORY USAGE of up to ``sample`` live session keys (not locks, not language keys)."""
    client = redis.Redis(port=redis_port, db=db)
    sizes: list[int] = []
    for key in client.scan_iter(match="ussd:{*}", count=1000):
        usage = client.memory_usage(key, samples=0)
        if usage:
            sizes.append(int(usage))
        if len(sizes) >= sample:
            break
    value = client.get(key) if sizes else b""
    return {
        "keys_sampled": len(sizes),
        "avg_bytes": round(sum(sizes) / len(sizes), 1) if sizes else 0.0,
        "max_bytes": max(sizes) if sizes else 0,
        "example_value_bytes": len(value or b""),
    }


def targets(args: argparse.Namespace, redis_port: int, workdir: Path) -> list[Target]:
    redis_url = f"redis://127.0.0.1:{redis_port}"
    out: list[Target] = []
    gateway_env = {"USSD_CONFIG": str(BENCH_CONFIG), "LOG_LEVEL": args.log_level}
    executable = str(Path(sys.executable).parent / "ussd-gateway")
    serve = [executable, "serve", "--host", "127.0.0.1"]
    stores = [s.strip() for s in args.store.split(",") if s.strip()]
    # with --before-bin, each Redis row runs for the other build first, then for this one
    builds = [("gateway", executable)]
    if args.before_bin:
        builds.insert(0, ("before", args.before_bin))
    db = 1
    if "redis" in stores:
        for workers in [int(w) for w in args.workers_list.split(",") if w.strip()]:
            for label, binary in builds:
                database = args.database_url or f"sqlite+aiosqlite:///{workdir}/{label}-{db}.db"
                out.append(
                    Target(
                        f"{label} redis w{workers}",
                        [binary, "serve", "--host", "127.0.0.1", "--workers", str(workers)],
                        {**gateway_env, "REDIS_URL": f"{redis_url}/{db}", "DATABASE_URL": database},
                        redis_db=db,
                    )
                )
                db += 1
    if "memory" in stores:
        database = args.database_url or f"sqlite+aiosqlite:///{workdir}/gateway-memory.db"
        out.append(
            Target(
                "gateway memory w1",
                [*serve, "--workers", "1"],
                {**gateway_env, "REDIS_URL": "", "DATABASE_URL": database},
            )
        )
    if not args.no_baseline:
        out.append(
            Target(
                "baseline (aiohttp+redis)",
                [
                    sys.executable,
                    "-m",
                    "benchmarks.baseline",
                    "--redis-url",
                    f"{redis_url}/{db + 1}",
                ],
                redis_db=db + 1,
            )
        )
    if not args.no_peer:
        if shutil.which("node") is None:
            print("node not installed: skipping the ussd-menu-builder peer", file=sys.stderr)
        else:
            if not (PEER / "node_modules").exists():
                subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True)
            out.append(
                Target(
                    "peer (ussd-menu-builder)",
                    ["node", "server.js"],
                    {"REDIS_URL": f"{redis_url}/{db + 2}"},
                    cwd=PEER,
                    redis_db=db + 2,
                )
            )
    return out


def print_table(rows: list[Row], memory: dict[str, dict[str, float]]) -> None:
    def find(prefix: str) -> dict[str, object] | None:
        return next((r.result for r in rows if r.name.startswith(prefix)), None)

    baseline, peer = find("baseline"), find("peer")
    header = (
        f"{'server':<26} {'client':<8} {'hops/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'cpu ms/hop':>10} {'redis cpu':>9} {'client cpu':>10} {'cores':>5} "
        f"{'x base':>7} {'p99/base':>8} {'x peer':>7} {'p99/peer':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        r = row.result
        cells = [
            f"{row.name:<26} {row.client:<8} {float(r['hops_per_s']):>9.0f} "
            f"{float(r['p50_ms']):>8.2f} {float(r['p99_ms']):>8.2f} {int(r['errors']):>6} "
            f"{float(r['cpu_ms_per_hop']):>10.3f} {float(r['redis_cpu_ms_per_hop']):>9.3f} "
            f"{float(r['client_cpu_ms_per_hop']):>10.3f} {float(r['cores_busy']):>5.2f}"
        ]
        for ref in (baseline, peer):
            if ref is None or not row.name.startswith(("gateway", "before")):
                cells.append(f"{'':>7} {'':>8}")
                continue
            speed = float(r["hops_per_s"]) / max(float(ref["hops_per_s"]), 1e-9)
            tail = float(r["p99_ms"]) / max(float(ref["p99_ms"]), 1e-9)
            cells.append(f"{speed:>7.2f} {tail:>8.2f}")
        print(" ".join(cells))
    for row in rows:
        for sample in row.result.get("error_samples") or []:  # type: ignore[union-attr]
            print(f"error in {row.name}: {sample}")
    for name, usage in memory.items():
        print(f"redis memory per live session key ({name}): {json.dumps(usage)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per server")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of load before measuring"
    )
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections")
    parser.add_argument(
        "--sessions", type=int, default=100_000, help="journeys at most per server (loadgen client)"
    )
    parser.add_argument("--workers-list", default="1,2", help="gateway --workers counts on Redis")
    parser.add_argument("--store", default="redis,memory", help="gateway session stores to run")
    parser.add_argument(
        "--client",
        choices=["wrk", "loadgen"],
        default=None,
        help="load client (default: wrk when installed, else loadgen)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="gateway submissions database (default: a fresh SQLite file)",
    )
    parser.add_argument(
        "--log-level", default="WARNING", help="gateway LOG_LEVEL (hop lines are INFO)"
    )
    parser.add_argument(
        "--before-bin",
        default=None,
        help="another build's ussd-gateway executable (e.g. the previous commit's, in its own "
        "venv): its Redis rows run just before this build's, for before/after in one table",
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print every result as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    client = args.client or ("wrk" if shutil.which("wrk") else "loadgen")
    if client == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk) - or use --client loadgen")
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    rows: list[Row] = []
    memory: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ussd-bench-") as tmp:
        workdir = Path(tmp)
        with redis_server(workdir) as (redis_port, redis_pid):
            for target in targets(args, redis_port, workdir):
                port = free_port()
                env = {**target.env, "PORT": str(port)}
                command = [*target.command]
                if target.cwd != PEER:
                    command += ["--port", str(port)]
                log = workdir / f"{target.name.split()[0]}-{port}.log"
                print(f"# {target.name}: starting", file=sys.stderr, flush=True)
                try:
                    with running(command, env, target.cwd, log) as process:
                        wait_http(f"http://127.0.0.1:{port}/healthz", process)
                        url = f"http://127.0.0.1:{port}"
                        if args.warmup > 0:
                            run_client(client, url, args, args.warmup)
                        cpu_before = cpu_seconds(process.pid)
                        redis_before = cpu_seconds(redis_pid)
                        busy_before, wall_before = machine_busy_seconds(), time.monotonic()
                        result = run_client(client, url, args, args.duration)
                        busy = machine_busy_seconds() - busy_before
                        result["cores_busy"] = round(busy / (time.monotonic() - wall_before), 2)
                        hops = max(int(result["hops"]), 1)
                        spent = cpu_seconds(process.pid) - cpu_before
                        result["cpu_ms_per_hop"] = round(spent * 1000 / hops, 3)
                        redis_spent = cpu_seconds(redis_pid) - redis_before
                        result["redis_cpu_ms_per_hop"] = round(redis_spent * 1000 / hops, 3)
                        if target.redis_db is not None and target.name.startswith("gateway"):
                            memory[target.name] = session_memory(redis_port, target.redis_db)
                except (RuntimeError, subprocess.SubprocessError) as exc:
                    tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
                    print(f"# {target.name} failed: {exc}\n{tail}", file=sys.stderr)
                    continue
                rows.append(Row(target.name, client, result))
                if args.json:
                    print(json.dumps({"server": target.name, **result}), flush=True)
    print(
        f"# {client}, {args.connections} connections, {args.duration:g}s per server, "
        f"4-hop journey (benchmarks/journey.py); ratios are gateway / reference"
    )
    print_table(rows, memory)
    return 1 if any(int(r.result["errors"]) for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
