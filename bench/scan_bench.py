"""Scan benchmark: driftwatch's run_scan against a raw boto3 floor on a moto server process.

Run from the repository root: `.venv/bin/python bench/scan_bench.py [--n 1000]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any

import boto3
import moto
from scan_fixture import REGION, Fixture, build_fixture, seed, write_repo
from scan_floor import BUCKET_READS, FloorRun, run_floor

import driftwatch.scan
from driftwatch.collect import Collection
from driftwatch.config import Config, load_config
from driftwatch.models import Finding, Kind
from driftwatch.motoserver import MotoServer
from driftwatch.scan import ScanResult, run_scan
from driftwatch.store import Store

TYPES = ("aws_s3_bucket", "aws_security_group")
TARGET_RATIO = 1.3
BUCKET_CHANGES = ["tags.team"]
GROUP_CHANGES = ['ingress["tcp 22-22 0.0.0.0/0"]']
PHASES = (
    ("load_declared", driftwatch.scan, "load_declared"),
    ("collect", Collection, "run"),
    ("build_findings", driftwatch.scan, "build_findings"),
    ("persist", Store, "persist_scan"),
)


class BenchmarkError(Exception):
    """The scan under test reported something other than the injected drift."""


@dataclass
class ScanRun:
    """One driftwatch measurement."""

    wall_s: float
    cpu_s: float
    api_calls: int
    phases: dict[str, float]
    summary: dict[str, int]


@dataclass
class Runs:
    """Every timed measurement, both sides."""

    driftwatch: list[ScanRun] = field(default_factory=list)
    floor: list[FloorRun] = field(default_factory=list)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="buckets and security groups each")
    p.add_argument("--concurrency", type=int, default=8, help="aws.max_concurrency and floor pool")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each side (median)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs of each side first")
    p.add_argument("--seed-workers", type=int, default=8, help="threads seeding moto")
    p.add_argument("--workdir", type=Path, help="keep the repo, config, db and moto log here")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    p.add_argument(
        "--max-ratio", type=float, help=f"exit 1 above this ratio (target {TARGET_RATIO})"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Seed, measure both sides interleaved, verify the findings, print the figures."""
    args = parse_args(argv)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION
    )
    load_before = os.getloadavg()
    with _workdir(args.workdir) as work, MotoServer(work / "moto.log") as server:
        fixture = build_fixture(args.n)
        cfg = prepare(work, server.url, fixture, args)
        store = Store(cfg.storage.path)
        try:
            runs = measure(cfg, store, fixture, args)
        finally:
            store.close()
    figures = summarise(runs, fixture, args)
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    print_figures(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if args.max_ratio and figures["ratio"] > args.max_ratio else 0


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep:
        keep.mkdir(parents=True, exist_ok=False)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp:
        yield Path(tmp)


def prepare(work: Path, endpoint: str, fixture: Fixture, args: argparse.Namespace) -> Config:
    """Seed moto, commit the manifests, write driftwatch.toml; return the loaded config."""
    t0 = time.perf_counter()
    calls = seed(endpoint, fixture, args.seed_workers)
    print(f"seeded moto: {calls} calls in {time.perf_counter() - t0:.1f} s", flush=True)
    files = write_repo(work / "manifests", fixture)
    ndeclared = len(fixture.declared_buckets) + len(fixture.declared_groups)
    print(f"declared {ndeclared} resources in {files} manifest files", flush=True)
    return load_config(write_config(work, endpoint, args.concurrency))


def write_config(work: Path, endpoint: str, concurrency: int) -> Path:
    """A driftwatch.toml pointing at the manifests repo, moto and a SQLite file."""
    path = work / "driftwatch.toml"
    lines = [
        "[git]",
        f"url = {json.dumps(str(work / 'manifests'))}",
        'branch = "main"',
        "[aws]",
        f"regions = [{json.dumps(REGION)}]",
        f"endpoint_url = {json.dumps(endpoint)}",
        f"max_concurrency = {concurrency}",
        "[storage]",
        f"path = {json.dumps(str(work / 'driftwatch.db'))}",
        "[scan]",
        f"types = {json.dumps(list(TYPES))}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def measure(cfg: Config, store: Store, fixture: Fixture, args: argparse.Namespace) -> Runs:
    """Warm-up, then timed runs of both sides, alternating which goes first."""
    runs = Runs()
    declared = {b.name for b in fixture.declared_buckets}
    with PhaseClock() as clock:
        for i in range(args.warmup + args.repeat):
            label = "warm-up" if i < args.warmup else f"run {i - args.warmup + 1}/{args.repeat}"
            dw, fl = _pair(i % 2 == 1, cfg, store, fixture, declared, clock)
            print(f"{label}: driftwatch {_took(dw)}, floor {_took(fl)}", flush=True)
            if i >= args.warmup:
                runs.driftwatch.append(dw)
                runs.floor.append(fl)
    return runs


def _took(run: ScanRun | FloorRun) -> str:
    return f"{run.wall_s:.2f} s (client CPU {run.cpu_s:.2f} s)"


def _pair(
    floor_first: bool,
    cfg: Config,
    store: Store,
    fixture: Fixture,
    declared: set[str],
    clock: PhaseClock,
) -> tuple[ScanRun, FloorRun]:
    def floor() -> FloorRun:
        return check_floor(run_floor(cfg.aws, REGION, declared), fixture)

    if floor_first:
        fl = floor()
        return run_driftwatch(cfg, store, fixture, clock), fl
    dw = run_driftwatch(cfg, store, fixture, clock)
    return dw, floor()


def run_driftwatch(cfg: Config, store: Store, fixture: Fixture, clock: PhaseClock) -> ScanRun:
    """One timed run_scan with the SQLite store, checked against the injected drift."""
    clock.times.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_scan(cfg, store)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    verify(result, fixture)
    return ScanRun(wall, cpu, result.api_calls, dict(clock.times), result.summary)


class PhaseClock:
    """Times driftwatch's scan steps by wrapping them (read-only, restored on exit)."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> PhaseClock:
        for label, owner, attr in PHASES:
            original = owner.__dict__[attr]
            self._saved.append((owner, attr, original))
            setattr(owner, attr, self._timed(label, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)
        self._saved.clear()

    def _timed(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.times[label] = self.times.get(label, 0.0) + time.perf_counter() - t0

        return timed


# --- correctness -------------------------------------------------------------------------


def verify(result: ScanResult, fixture: Fixture) -> None:
    """Fail loudly unless the scan found exactly the injected drift and nothing else."""
    if result.status != "ok" or result.errors:
        raise BenchmarkError(f"scan status {result.status}: {result.errors[:3]}")
    expected = {
        Kind.MODIFIED.value: len(fixture.modified),
        Kind.UNMANAGED.value: len(fixture.unmanaged),
        Kind.IN_SYNC.value: fixture.in_sync,
        Kind.MISSING.value: 0,
        Kind.NOT_CHECKED.value: 0,
    }
    _same("finding counts", result.summary, expected)
    modified = [f for f in result.findings if f.kind == Kind.MODIFIED]
    _same("modified ids", {f.id for f in modified}, fixture.modified)
    for f in modified:
        want = BUCKET_CHANGES if f.type == "aws_s3_bucket" else GROUP_CHANGES
        _same(f"changes of {f.id}", [c.path for c in f.changes], want)
    unmanaged = {_name(f) for f in result.findings if f.kind == Kind.UNMANAGED}
    _same("unmanaged names", unmanaged, fixture.unmanaged)


def _name(f: Finding) -> str:
    snapshot = f.snapshot or {}
    return str(snapshot.get("name") or f.id)


def _same(what: str, got: Any, want: Any) -> None:
    if got != want:
        raise BenchmarkError(f"{what}: got {_short(got)}, expected {_short(want)}")


def _short(value: Any) -> str:
    text = repr(sorted(value) if isinstance(value, set) else value)
    return text if len(text) < 300 else text[:300] + "…"


def check_floor(run: FloorRun, fixture: Fixture) -> FloorRun:
    """The floor must have read what driftwatch reads."""
    _same("floor bucket reads", run.bucket_reads, len(BUCKET_READS) * len(fixture.declared_buckets))
    _same("floor groups listed", run.groups, len(fixture.groups) + 1)  # + the VPC's default group
    return run


# --- figures -----------------------------------------------------------------------------


def summarise(runs: Runs, fixture: Fixture, args: argparse.Namespace) -> dict[str, Any]:
    """Medians, ratio and context, as one JSON-ready mapping."""
    dw = statistics.median(r.wall_s for r in runs.driftwatch)
    fl = statistics.median(r.wall_s for r in runs.floor)
    dw_cpu = statistics.median(r.cpu_s for r in runs.driftwatch)
    fl_cpu = statistics.median(r.cpu_s for r in runs.floor)
    phases = {
        label: round(statistics.median(r.phases.get(label, 0.0) for r in runs.driftwatch), 3)
        for label, _, _ in PHASES
    }
    declared = len(fixture.declared_buckets) + len(fixture.declared_groups)
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "revision": _revision(),
        "command": " ".join([".venv/bin/python", "bench/scan_bench.py", *sys.argv[1:]]),
        "n": args.n,
        "concurrency": args.concurrency,
        "repeat": args.repeat,
        "declared_resources": declared,
        "live_resources": len(fixture.buckets) + len(fixture.groups),
        "driftwatch_s": round(dw, 3),
        "floor_s": round(fl, 3),
        "ratio": round(dw / fl, 3),
        "collect_ratio": round(phases["collect"] / fl, 3),
        "driftwatch_runs_s": [round(r.wall_s, 3) for r in runs.driftwatch],
        "floor_runs_s": [round(r.wall_s, 3) for r in runs.floor],
        "driftwatch_cpu_s": round(dw_cpu, 3),
        "floor_cpu_s": round(fl_cpu, 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "driftwatch_api_calls": runs.driftwatch[-1].api_calls,
        "floor_api_calls": runs.floor[-1].api_calls,
        "driftwatch_phases_s": phases,
        "findings": runs.driftwatch[-1].summary,
        "runs": {
            "driftwatch": [asdict(r) for r in runs.driftwatch],
            "floor": [asdict(r) for r in runs.floor],
        },
    }


def _machine() -> str:
    return (
        f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, boto3 {boto3.__version__}, moto {moto.__version__}"
    )


def _revision() -> str:
    """The commit under test, `-dirty` when driftwatch/ has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    git = ["git", "-C", str(root)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    status = [*git, "status", "--porcelain", "--", "driftwatch"]
    dirty = subprocess.run(status, capture_output=True, text=True).stdout.strip()
    return head.stdout.strip() + ("-dirty" if dirty else "")


def print_figures(f: dict[str, Any]) -> None:
    """The human-readable result."""
    verdict = "OK" if f["ratio"] <= TARGET_RATIO else "ABOVE TARGET"
    print()
    print(f"scan benchmark  {f['date']}  driftwatch {f['revision']}  ({f['machine']})")
    print(
        f"N={f['n']} buckets + {f['n']} security groups, {f['declared_resources']} declared, "
        f"concurrency {f['concurrency']}, median of {f['repeat']}"
    )
    print(f"findings (verified): {_counts(f['findings'])}")
    print(f"{'':12}{'median':>9}  {'runs':<24}{'API calls':>10}")
    _row("driftwatch", f["driftwatch_s"], f["driftwatch_runs_s"], f["driftwatch_api_calls"])
    _row("floor", f["floor_s"], f["floor_runs_s"], f["floor_api_calls"])
    print(f"ratio       {f['ratio']:>8.3f}×  target ≤ {TARGET_RATIO}×: {verdict}")
    phases = ", ".join(f"{k} {v:.2f} s" for k, v in f["driftwatch_phases_s"].items())
    print(f"driftwatch phases (median): {phases}; collect/floor {f['collect_ratio']:.2f}×")
    print(
        f"client CPU (median): driftwatch {f['driftwatch_cpu_s']:.2f} s, "
        f"floor {f['floor_cpu_s']:.2f} s"
    )
    print(f"load average before {f['load_average_before']}, at end {f['load_average']}")


def _row(label: str, median: float, runs: list[float], calls: int) -> None:
    spread = " ".join(f"{r:.2f}" for r in runs)
    print(f"{label:<12}{median:>8.2f}s  {spread:<24}{calls:>10}")


def _counts(summary: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in summary.items())


if __name__ == "__main__":
    sys.exit(main())
