"""Full scan benchmark: 13 resource types, driftwatch against a raw boto3 floor and Cloud Custodian.

Run from the repository root: `.venv/bin/python bench/full_scan_bench.py [--scale 1.0]`.
Cloud Custodian runs from its own virtualenv (c7n pins boto3): see bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from c7n_run import RESOURCES, C7nRun, find_python, measured_run, run_custodian
from full_fixture import KINDS, REGION, TYPES, Fixture, build_fixture, folder, scaled_counts
from full_fixture import seed as seed_moto
from full_fixture import write_repo as write_manifests
from full_floor import READS, FullFloorRun, run_full_floor
from scan_bench import PHASES, BenchmarkError, PhaseClock, _machine, _revision, _same, _workdir

import driftwatch.scan
from driftwatch.aws import AwsSessions
from driftwatch.config import Config, load_config
from driftwatch.models import Finding, Kind
from driftwatch.motoserver import MotoServer
from driftwatch.scan import ScanResult, run_scan
from driftwatch.store import Store

S3_ONLY = ("aws_s3_bucket",)
TARGET_RATIO = 1.2  # driftwatch / floor, at most
TARGET_C7N_S3 = 3.0  # c7n S3 / driftwatch S3, at least
TARGET_RSS_MB = 300.0  # peak RSS of a CLI scan, below


@dataclass
class DwRun:
    """One driftwatch measurement (run_scan in this process)."""

    wall_s: float
    cpu_s: float
    api_calls: int
    calls_by_op: dict[str, int]
    phases: dict[str, float]
    summary: dict[str, int]


@dataclass
class Runs:
    """Every timed measurement of every side."""

    driftwatch: list[DwRun] = field(default_factory=list)
    floor: list[FullFloorRun] = field(default_factory=list)
    c7n: list[C7nRun] = field(default_factory=list)
    driftwatch_s3: list[DwRun] = field(default_factory=list)
    c7n_s3: list[C7nRun] = field(default_factory=list)
    first_scan: DwRun | None = None  # the first full scan: every manifest parsed, no cache


SIDES = ("driftwatch", "floor", "c7n", "driftwatch_s3", "c7n_s3")


@dataclass
class Bench:
    """Everything a round needs: the fixture, both configs and stores, c7n's Python."""

    work: Path
    fixture: Fixture
    cfg: Config
    cfg_s3: Config
    store: Store
    store_s3: Store
    c7n_python: Path | None
    env: dict[str, str]
    clock: PhaseClock
    spy: SessionSpy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="multiply the default counts")
    p.add_argument("--concurrency", type=int, default=8, help="aws.max_concurrency and floor pool")
    p.add_argument("--repeat", type=int, default=3, help="timed rounds (median)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first (not c7n)")
    p.add_argument("--seed-workers", type=int, default=8, help="threads seeding S3 in moto")
    p.add_argument("--c7n-python", type=Path, help="Python with c7n (default: c7n-venv)")
    p.add_argument("--no-c7n", action="store_true", help="skip Cloud Custodian")
    p.add_argument("--workdir", type=Path, help="keep the repo, configs, dbs, logs here")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Seed, measure every side interleaved, verify, measure peak RSS, print the figures."""
    args = parse_args(argv)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION
    )
    c7n_python = None if args.no_c7n else find_python(args.c7n_python)
    if not args.no_c7n and c7n_python is None:
        sys.exit("c7n not found: see bench/README.md, or pass --c7n-python or --no-c7n")
    load_before = os.getloadavg()
    started = time.perf_counter()
    with _workdir(args.workdir) as work, MotoServer(work / "moto.log") as server:
        bench = prepare(work, server.url, args, c7n_python)
        try:
            with bench.clock, bench.spy:
                runs = measure(bench, args)
            rss = measure_rss(bench)
        finally:
            bench.store.close()
            bench.store_s3.close()
    figures = summarise(runs, rss, bench.fixture, args)
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    figures["total_s"] = round(time.perf_counter() - started, 1)
    print_figures(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


# --- setup -------------------------------------------------------------------------------


def prepare(work: Path, endpoint: str, args: argparse.Namespace, c7n: Path | None) -> Bench:
    """Seed moto, commit the manifests, write both configs; open both stores."""
    fixture = build_fixture(scaled_counts(args.scale))
    t0 = time.perf_counter()
    calls = seed_moto(endpoint, fixture, args.seed_workers)
    print(f"seeded moto: {calls} calls in {time.perf_counter() - t0:.1f} s", flush=True)
    files = write_manifests(work / "manifests", fixture)
    declared = sum(len(fixture.declared(t)) for t in TYPES)
    print(f"declared {declared} resources in {files} manifest files", flush=True)
    cfg = load_config(write_config(work, "full", endpoint, args.concurrency, TYPES))
    cfg_s3 = load_config(write_config(work, "s3", endpoint, args.concurrency, S3_ONLY))
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return Bench(
        work,
        fixture,
        cfg,
        cfg_s3,
        Store(cfg.storage.path),
        Store(cfg_s3.storage.path),
        c7n,
        env,
        PhaseClock(),
        SessionSpy(),
    )


def write_config(
    work: Path, name: str, endpoint: str, concurrency: int, types: tuple[str, ...]
) -> Path:
    """A driftwatch.toml in its own folder (so its own data dir: Git clone, manifest cache).

    With one type, `git.path` narrows the manifests to that type's folder.
    """
    home = work / name
    home.mkdir()
    lines = ["[git]", f"url = {json.dumps(str(work / 'manifests'))}", 'branch = "main"']
    if len(types) == 1:
        lines.append(f"path = {json.dumps(folder(types[0]))}")
    lines += [
        "[aws]",
        f"regions = [{json.dumps(REGION)}]",
        f"endpoint_url = {json.dumps(endpoint)}",
        f"max_concurrency = {concurrency}",
        "[storage]",
        f"path = {json.dumps(str(home / 'driftwatch.db'))}",
        "[scan]",
        f"types = {json.dumps(list(types))}",
    ]
    path = home / "driftwatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class SessionSpy:
    """Keeps the AwsSessions each scan creates, to read its calls by operation."""

    def __init__(self) -> None:
        self.last: AwsSessions | None = None
        self._saved: Any = None

    def __enter__(self) -> SessionSpy:
        spy = self
        self._saved = driftwatch.scan.AwsSessions

        class Spied(AwsSessions):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                spy.last = self

        driftwatch.scan.AwsSessions = Spied  # type: ignore[misc]
        return self

    def __exit__(self, *exc: object) -> None:
        driftwatch.scan.AwsSessions = self._saved  # type: ignore[misc]


# --- measuring ---------------------------------------------------------------------------


Side = tuple[str, Callable[[], Any]]


def sides(bench: Bench, warm: bool) -> list[Side]:
    """The measurements of one round, by the Runs field each goes to."""
    out: list[Side] = [
        ("driftwatch", lambda: run_driftwatch(bench, bench.cfg, bench.store, TYPES)),
        ("floor", lambda: run_floor(bench, TYPES)),
        ("driftwatch_s3", lambda: run_driftwatch(bench, bench.cfg_s3, bench.store_s3, S3_ONLY)),
    ]
    if bench.c7n_python and not warm:
        out.insert(2, ("c7n", lambda: run_c7n(bench, TYPES)))
        out.append(("c7n_s3", lambda: run_c7n(bench, S3_ONLY)))
    return out


def measure(bench: Bench, args: argparse.Namespace) -> Runs:
    """Warm-up rounds, then timed rounds; each round starts with a different side."""
    runs = Runs()
    for i in range(args.warmup + args.repeat):
        warm = i < args.warmup
        label = "warm-up" if warm else f"round {i - args.warmup + 1}/{args.repeat}"
        todo = sides(bench, warm)
        shift = i % len(todo)
        done = []
        for name, fn in todo[shift:] + todo[:shift]:
            result = fn()
            done.append(f"{name} {result.wall_s:.2f} s")
            if name == "driftwatch" and runs.first_scan is None:
                runs.first_scan = result
            if not warm:
                getattr(runs, name).append(result)
        print(f"{label}: " + ", ".join(done), flush=True)
    return runs


def run_driftwatch(bench: Bench, cfg: Config, store: Store, types: tuple[str, ...]) -> DwRun:
    """One timed run_scan with its SQLite store, checked against the injected drift."""
    bench.clock.times.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_scan(cfg, store)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    verify(result, bench.fixture, types)
    assert bench.spy.last is not None
    by_op = dict(bench.spy.last.counter.by_operation)
    return DwRun(wall, cpu, result.api_calls, by_op, dict(bench.clock.times), result.summary)


def run_floor(bench: Bench, types: tuple[str, ...]) -> FullFloorRun:
    declared = {t: bench.fixture.declared_ids(t) for t in types}
    return check_floor(run_full_floor(bench.cfg.aws, declared, types), bench.fixture)


_c7n_runs = itertools.count()


def run_c7n(bench: Bench, types: tuple[str, ...]) -> C7nRun:
    assert bench.c7n_python is not None
    tag = "s3" if types == S3_ONLY else "all"
    outdir = bench.work / f"c7n-{tag}-{next(_c7n_runs)}"
    run = run_custodian(bench.c7n_python, list(types), outdir, bench.env)
    return check_c7n(run, bench.fixture, types)


# --- correctness -------------------------------------------------------------------------


def verify(result: ScanResult, fixture: Fixture, types: tuple[str, ...]) -> None:
    """Fail loudly unless the scan found exactly the injected drift and nothing else."""
    if result.status != "ok" or result.errors:
        raise BenchmarkError(f"scan status {result.status}: {result.errors[:3]}")
    _same("finding counts", result.summary, expected_summary(fixture, types))
    modified = [f for f in result.findings if f.kind == Kind.MODIFIED]
    _same("modified", {(f.type, f.id) for f in modified}, fixture.modified(types))
    for f in modified:
        want = list(KINDS[f.type].changes)
        _same(f"changes of {f.type} {f.id}", [c.path for c in f.changes], want)
    unmanaged = {(f.type, live_name(f)) for f in result.findings if f.kind == Kind.UNMANAGED}
    _same("unmanaged", unmanaged, fixture.unmanaged(types))


def expected_summary(fixture: Fixture, types: tuple[str, ...]) -> dict[str, int]:
    """Finding counts of a correct scan of these types."""
    return {
        Kind.IN_SYNC.value: fixture.in_sync(types),
        Kind.MODIFIED.value: len(fixture.modified(types)),
        Kind.MISSING.value: 0,
        Kind.UNMANAGED.value: len(fixture.unmanaged(types)),
        Kind.NOT_CHECKED.value: 0,
    }


def live_name(f: Finding) -> str:
    """The name an unmanaged finding's resource was seeded with (group name, alias, …)."""
    snapshot = f.snapshot or {}
    aliases = snapshot.get("aliases") or [None]
    return str(snapshot.get("name") or aliases[0] or f.id)


def expected_listed(fixture: Fixture, rtype: str) -> int:
    """Live resources of a type, with the default VPC's default security group."""
    return fixture.live_count(rtype) + (rtype == "aws_security_group")


def check_floor(run: FullFloorRun, fixture: Fixture) -> FullFloorRun:
    """The floor must have listed everything and read every declared resource's details."""
    for rtype, listed in run.listed.items():
        _same(f"floor listed {rtype}", listed, expected_listed(fixture, rtype))
        per = 1 if rtype == "aws_iam_role" else len(READS[rtype])
        _same(f"floor reads {rtype}", run.reads.get(rtype, 0), per * len(fixture.declared(rtype)))
    return run


def check_c7n(run: C7nRun, fixture: Fixture, types: tuple[str, ...]) -> C7nRun:
    """Custodian must have returned every live resource of every policy's type."""
    for rtype in types:
        name = RESOURCES[rtype]
        _same(f"c7n {name} resources", run.resources.get(name), expected_listed(fixture, rtype))
    return run


# --- peak RSS ----------------------------------------------------------------------------


def measure_rss(bench: Bench) -> dict[str, Any]:
    """One `python -m driftwatch scan --format json` subprocess: wall, peak RSS, summary."""
    cmd = [sys.executable, "-m", "driftwatch", "scan", "--config", str(bench.cfg.source)]
    cmd += ["--format", "json"]
    out_path = bench.work / "cli-scan.json"
    with open(out_path, "wb") as out, open(bench.work / "cli-scan.err", "wb") as err:
        child = measured_run(cmd, out, err)
    if child.returncode != 2:  # 2: drift found, as injected
        raise BenchmarkError(f"CLI scan exited {child.returncode}; see {bench.work}/cli-scan.err")
    doc = json.loads(out_path.read_text(encoding="utf-8"))
    _same("CLI scan summary", doc["summary"], expected_summary(bench.fixture, TYPES))
    print(f"CLI scan: {child.wall_s:.2f} s, peak RSS {child.rss_mb:.0f} MB", flush=True)
    return {
        "wall_s": round(child.wall_s, 3),
        "peak_rss_mb": round(child.rss_mb, 1),
        "cpu_s": round(child.cpu_s, 3),
        "summary": doc["summary"],
        "command": " ".join(["python", "-m", "driftwatch", *cmd[3:]]),
    }


# --- figures -----------------------------------------------------------------------------


def _median(runs: list[Any], attr: str) -> float:
    return round(statistics.median(getattr(r, attr) for r in runs), 3) if runs else float("nan")


def _side(runs: list[Any]) -> dict[str, Any]:
    """Median wall, every run's wall, calls and client CPU of one side."""
    if not runs:
        return {}
    out = {
        "median_s": _median(runs, "wall_s"),
        "runs_s": [round(r.wall_s, 3) for r in runs],
        "api_calls": runs[-1].api_calls,
        "cpu_s": _median(runs, "cpu_s"),
        "calls_by_op": runs[-1].calls_by_op,
    }
    if isinstance(runs[0], C7nRun):
        out["main_median_s"] = _median(runs, "main_s")
        out["rss_mb"] = round(max(r.rss_mb for r in runs), 1)
        out["resources"] = runs[-1].resources
        out["policy_s"] = {
            k: round(statistics.median(r.policy_s[k] for r in runs), 2) for k in runs[0].policy_s
        }
    return out


def summarise(
    runs: Runs, rss: dict[str, Any], fixture: Fixture, args: argparse.Namespace
) -> dict[str, Any]:
    """Medians, ratios and context, as one JSON-ready mapping."""
    sides = {name: _side(getattr(runs, name)) for name in SIDES}
    dw, fl = sides["driftwatch"], sides["floor"]
    phases = {
        label: round(statistics.median(r.phases.get(label, 0.0) for r in runs.driftwatch), 3)
        for label, _, _ in PHASES
    }
    figures: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "revision": _revision(),
        "command": " ".join([".venv/bin/python", "bench/full_scan_bench.py", *sys.argv[1:]]),
        "scale": args.scale,
        "counts": {t: fixture.live_count(t) for t in TYPES},
        "declared": sum(len(fixture.declared(t)) for t in TYPES),
        "concurrency": args.concurrency,
        "repeat": args.repeat,
        "sides": sides,
        "ratio": round(dw["median_s"] / fl["median_s"], 3),
        "ratio_cpu": round(dw["cpu_s"] / fl["cpu_s"], 3),
        "collect_ratio": round(phases["collect"] / fl["median_s"], 3),
        "driftwatch_phases_s": phases,
        "findings": runs.driftwatch[-1].summary,
        "rss": rss,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "first_scan": asdict(runs.first_scan) if runs.first_scan else None,
        "runs": {k: [asdict(r) for r in getattr(runs, k)] for k in SIDES},
    }
    if runs.c7n_s3:
        c7n_s3, dw_s3 = sides["c7n_s3"], sides["driftwatch_s3"]
        figures["c7n_s3_ratio"] = round(c7n_s3["median_s"] / dw_s3["median_s"], 2)
        figures["c7n_s3_main_ratio"] = round(c7n_s3["main_median_s"] / dw_s3["median_s"], 2)
    return figures


def print_figures(f: dict[str, Any]) -> None:
    """The human-readable result."""
    s = f["sides"]
    print()
    print(f"full scan benchmark  {f['date']}  driftwatch {f['revision']}  ({f['machine']})")
    print(f"scale {f['scale']}: " + ", ".join(f"{t[4:]} {n}" for t, n in f["counts"].items()))
    print(
        f"{f['declared']} declared, concurrency {f['concurrency']}, median of {f['repeat']}; "
        f"findings (verified): {', '.join(f'{k} {v}' for k, v in f['findings'].items())}"
    )
    print(f"{'':16}{'median':>9}  {'runs':<26}{'API calls':>10}{'CPU s':>8}")
    for name in SIDES:
        if s[name]:
            _row(name, s[name])
    print(f"driftwatch / floor: {f['ratio']:.3f}×  (target ≤ {TARGET_RATIO}×: {_ok(f['ratio'])})")
    print(f"  client CPU driftwatch / floor {f['ratio_cpu']:.2f}×")
    if "c7n_s3_ratio" in f:
        verdict = "met" if f["c7n_s3_main_ratio"] >= TARGET_C7N_S3 else "NOT met"
        print(
            f"c7n S3 / driftwatch S3: {f['c7n_s3_ratio']:.2f}× (subprocess), "
            f"{f['c7n_s3_main_ratio']:.2f}× (c7n main() only)  (target ≥ {TARGET_C7N_S3}×: "
            f"{verdict}); c7n main() all 13: {s['c7n']['main_median_s']:.2f} s"
        )
        print(f"  c7n policy times (median, its log): {_fmt(s['c7n']['policy_s'])}")
        print(f"  c7n peak RSS {s['c7n']['rss_mb']:.0f} MB")
    rss = f["rss"]
    verdict = "met" if rss["peak_rss_mb"] < TARGET_RSS_MB else "NOT met"
    print(
        f"CLI scan: peak RSS {rss['peak_rss_mb']:.0f} MB (target < {TARGET_RSS_MB:.0f} MB: "
        f"{verdict}), wall {rss['wall_s']:.2f} s"
    )
    print(f"driftwatch phases (median): {_fmt(f['driftwatch_phases_s'])}")
    print(f"  collect / floor {f['collect_ratio']:.2f}×")
    if f["first_scan"]:
        first = f["first_scan"]
        print(
            f"first full scan (empty manifest cache): {first['wall_s']:.2f} s, "
            f"load_declared {first['phases']['load_declared']:.2f} s"
        )
    print(f"calls driftwatch vs floor, where they differ: {_call_diff(s)}")
    print(f"load average before {f['load_average_before']}, at end {f['load_average']}")
    print(f"total {f['total_s']:.0f} s")


def _ok(ratio: float) -> str:
    return "met" if ratio <= TARGET_RATIO else "NOT met"


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f} s" for k, v in values.items())


def _row(label: str, side: dict[str, Any]) -> None:
    spread = " ".join(f"{r:.2f}" for r in side["runs_s"])
    print(
        f"{label:<16}{side['median_s']:>8.2f}s  {spread:<26}"
        f"{side['api_calls']:>10}{side['cpu_s']:>8.2f}"
    )


def _call_diff(s: dict[str, Any]) -> str:
    dw, fl = s["driftwatch"]["calls_by_op"], s["floor"]["calls_by_op"]
    diff = {op: (dw.get(op, 0), fl.get(op, 0)) for op in sorted({*dw, *fl})}
    return ", ".join(f"{op} {a}/{b}" for op, (a, b) in diff.items() if a != b) or "none"


if __name__ == "__main__":
    sys.exit(main())
