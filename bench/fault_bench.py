"""Fault bench: scan time under AWS fault storms, against a clean scan measured in the same run.

Run from the repository root: `.venv/bin/python bench/fault_bench.py [--declared 300]`.
The moto server sits behind `tests/support/faultproxy.py` (loopback); every storm's
scan must report exactly the findings of the clean scan.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from full_fixture import REGION, TYPES, build_fixture, scaled_counts
from full_fixture import seed as seed_moto
from full_fixture import write_repo as write_manifests
from scan_bench import _machine, _revision, _workdir
from support.faultproxy import Call, Fault, FaultProxy, RateLimit

from driftwatch.config import load_config
from driftwatch.registry import collectors
from driftwatch.scan import ScanResult, run_scan
from driftwatch.store import Store

READ_TIMEOUT = 1.0  # seconds; the `slow` storm answers after SLOW_DELAY
SLOW_DELAY = 1.5
MATRIX_ATTEMPTS = 3
TARGET_SLOWDOWN = 3.0  # the 30% SlowDown storm, at most this many times the clean time
Signature = frozenset[tuple[str, str, str, tuple[str, ...]]]


@dataclass(frozen=True)
class Storm:
    """One fault storm: its name, what it injects, and how to set up the proxy for it."""

    name: str
    injected: str
    setup: Callable[[FaultProxy], None]


def _faults(*faults: Fault) -> Callable[[FaultProxy], None]:
    def setup(proxy: FaultProxy) -> None:
        proxy.faults[:] = [Fault(**{**f.__dict__, "hits": 0}) for f in faults]
        proxy.limits.clear()

    return setup


def _limit(rate: float, burst: float) -> Callable[[FaultProxy], None]:
    def setup(proxy: FaultProxy) -> None:
        proxy.faults.clear()
        proxy.limits[:] = [RateLimit(rate, burst)]

    return setup


STORMS = (
    Storm("clean", "nothing", _faults()),
    Storm(
        "slowdown-30",
        "30% of all calls: 503 SlowDown",
        _faults(Fault("throttle", rate=0.3, code="SlowDown")),
    ),
    Storm(
        "throttle-30",
        "30% of all calls: each service's throttling error (ThrottlingException, "
        "RequestLimitExceeded, SlowDown, Throttling)",
        _faults(Fault("throttle", rate=0.3)),
    ),
    Storm(
        "5xx-30",
        "15% 500 InternalError + 15% 503 ServiceUnavailable",
        _faults(
            Fault("error", rate=0.15, status=500), Fault("error", rate=0.15 / 0.85, status=503)
        ),
    ),
    Storm("reset-10", "10% of calls: connection reset (RST)", _faults(Fault("reset", rate=0.1))),
    Storm("truncate-10", "10% of calls: body cut in half", _faults(Fault("truncate", rate=0.1))),
    Storm(
        "slow-2",
        f"2% of calls answered after {SLOW_DELAY} s (read timeout {READ_TIMEOUT} s)",
        _faults(Fault("slow", rate=0.02, delay=SLOW_DELAY)),
    ),
    Storm("ratelimit-20", "token bucket per service: 20 calls/s, burst 10", _limit(20.0, 10.0)),
)


# The matrix: each of these alone on one service at a time, all calls of that service.
MATRIX = (
    Fault("throttle", code="ThrottlingException"),
    Fault("throttle", code="SlowDown"),
    Fault("throttle", code="RequestLimitExceeded"),
    Fault("error", status=500),
    Fault("error", status=503),
    Fault("deny"),
    Fault("html500"),
    Fault("drop"),
    Fault("reset"),
    Fault("truncate"),
    Fault("slow", delay=SLOW_DELAY),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--declared", type=int, default=300, help="declared resources (about)")
    p.add_argument("--repeat", type=int, default=3, help="rounds; each storm's median is shown")
    p.add_argument("--concurrency", type=int, default=8, help="aws.max_concurrency")
    p.add_argument("--storms", default=",".join(s.name for s in STORMS[1:]), help="comma list")
    p.add_argument("--matrix", action="store_true", help="every fault kind on every service")
    p.add_argument("--workdir", type=Path, help="keep the repo, configs and logs here")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return p.parse_args(argv)


def write_config(work: Path, endpoint: str, concurrency: int, attempts: int = 10) -> Path:
    """A driftwatch.toml for the fixture, with the proxy as the endpoint."""
    lines = [
        "[git]",
        f"url = {json.dumps(str(work / 'manifests'))}",
        'branch = "main"',
        "[aws]",
        f"regions = [{json.dumps(REGION)}]",
        f"endpoint_url = {json.dumps(endpoint)}",
        f"max_concurrency = {concurrency}",
        f"read_timeout = {READ_TIMEOUT}",
        f"max_attempts = {attempts}",
        "[storage]",
        f"path = {json.dumps(str(work / 'state' / 'driftwatch.db'))}",
        "[scan]",
        f"types = {json.dumps(list(TYPES))}",
    ]
    path = work / "driftwatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def signature(result: ScanResult) -> Signature:
    """What a scan found: (kind, type, id, change paths) of every finding."""
    return frozenset(
        (f.kind, f.type, f.id, tuple(sorted(c.path for c in f.changes))) for f in result.findings
    )


@dataclass
class Measured:
    """One scan under one storm."""

    seconds: float
    same: bool
    errors: int
    calls: int
    faults: int


def measure(cfg_path: Path, proxy: FaultProxy, storm: Storm, clean: Signature | None) -> Measured:
    """Run one scan (not stored) under a storm; compare its findings with the clean scan's."""
    storm.setup(proxy)
    proxy.calls.clear()
    cfg = load_config(cfg_path)
    t0 = time.perf_counter()
    result = run_scan(cfg, None)
    seconds = time.perf_counter() - t0
    sig = signature(result)
    calls = list(proxy.calls)
    faults = sum(c.outcome != "ok" for c in calls)
    same = clean is None or sig == clean
    for err in result.errors[:3]:
        print(f"  error: {err.scope.type} {err.resource_id or ''}: {err.error}", flush=True)
    if not same:
        print(f"  findings differ: {sorted(sig ^ clean)[:5] if clean else ''}", flush=True)
    return Measured(seconds, same and not result.errors, len(result.errors), len(calls), faults)


def records(store: Store) -> dict[str, tuple[str, str]]:
    """Every drift record: fingerprint → (status, kind)."""
    return {d["fingerprint"]: (d["status"], d["kind"]) for d in store.drifts()}


def run_matrix(cfg_path: Path, proxy: FaultProxy, work: Path) -> dict[str, Any]:
    """Each MATRIX fault alone on each service: that service's types must be not checked,
    the others checked, and no drift record opened, changed or resolved."""
    store = Store(work / "matrix.db")
    cfg = load_config(cfg_path)
    proxy.faults.clear()
    proxy.limits.clear()
    first = run_scan(cfg, store)
    if first.errors:
        raise SystemExit(f"the clean scan had errors: {first.errors[:3]}")
    before, events = records(store), len(store.events())
    services = sorted({collectors.get(t).service for t in TYPES})
    trials, wrong, opened, resolved = 0, [], 0, 0
    for service in services:
        types = {t for t in TYPES if collectors.get(t).service == service}
        declared = sum(1 for f in first.findings if f.type in types and f.kind != "unmanaged")
        for fault in MATRIX:
            proxy.faults[:] = [Fault(**{**fault.__dict__, "service": service, "hits": 0})]
            result = run_scan(cfg, store)
            trials += 1
            after = records(store)
            opened += sum(1 for fp in after.keys() - before.keys())
            resolved += sum(1 for fp, v in after.items() if fp in before and v != before[fp])
            unchecked = [f for f in result.findings if f.kind == "not_checked"]
            ok = (
                after == before
                and len(store.events()) == events
                and {f.type for f in unchecked} == types
                and len(unchecked) == declared
                and {e.scope.type for e in result.errors} == types
            )
            label = f"{service} {fault.kind} {fault.code or fault.status or ''}".strip()
            print(
                f"matrix {label}: {'ok' if ok else 'WRONG'} ({len(unchecked)} not checked)",
                flush=True,
            )
            if not ok:
                wrong.append(label)
    proxy.faults.clear()
    store.close()
    return {"trials": trials, "wrong": wrong, "opened": opened, "changed_or_resolved": resolved}


def convergence(calls: list[Call], service: str, rate: float) -> dict[str, float]:
    """For the busiest service under a rate limit: accepted calls a second and the throttled
    share, over the second half of its calls (after the limiter has had time to settle)."""
    mine = [c for c in calls if c.service == service]
    half = mine[len(mine) // 2 :]
    if len(half) < 2:
        return {}
    span = half[-1].at - half[0].at
    ok = sum(c.outcome == "ok" for c in half)
    return {
        "allowed_per_s": rate,
        "accepted_per_s": round(ok / span, 2) if span else 0.0,
        "throttled_share": round(1 - ok / len(half), 3),
        "calls": len(mine),
    }


def main(argv: list[str] | None = None) -> int:
    """Seed, run every storm `--repeat` times interleaved with clean scans, print ratios."""
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION
    )
    from driftwatch.motoserver import MotoServer

    chosen = ["clean", *args.storms.split(",")]
    storms = {s.name: s for s in STORMS}
    scale = args.declared / (sum(scaled_counts(1.0).values()) * 0.9)
    with _workdir(args.workdir) as work, MotoServer(work / "moto.log") as server:
        fixture = build_fixture(scaled_counts(scale))
        seed_moto(server.url, fixture, 8)
        write_manifests(work / "manifests", fixture)
        declared = sum(len(fixture.declared(t)) for t in TYPES)
        proxy = FaultProxy(server.url).start()
        try:
            # The matrix faults every call of a service: a few attempts show the same.
            attempts = MATRIX_ATTEMPTS if args.matrix else 10
            cfg = write_config(work, proxy.url, args.concurrency, attempts)
            if args.matrix:
                figures = run_matrix(cfg, proxy, work)
                print(f"\nmatrix: {declared} declared, {figures}")
                if args.json:
                    args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
                return 0 if not figures["wrong"] else 1
            clean = signature(run_scan(load_config(cfg), None))  # warm-up, and the reference
            runs: dict[str, list[Measured]] = {name: [] for name in chosen}
            rate_calls: list[Call] = []
            for r in range(args.repeat):
                for name in chosen:
                    m = measure(cfg, proxy, storms[name], clean)
                    runs[name].append(m)
                    if name.startswith("ratelimit") and r == 0:
                        rate_calls = list(proxy.calls)
                    print(
                        f"round {r + 1} {name}: {m.seconds:.2f} s, calls {m.calls}, "
                        f"faults {m.faults}, same findings {m.same}",
                        flush=True,
                    )
        finally:
            proxy.stop()
    figures = report(runs, storms, declared, rate_calls, args)
    figures["load_before"] = load_before
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    ok = all(m.same for ms in runs.values() for m in ms)
    slow = figures["storms"].get("slowdown-30", {}).get("ratio", 0.0)
    return 0 if ok and slow <= TARGET_SLOWDOWN else 1


def report(
    runs: dict[str, list[Measured]],
    storms: dict[str, Storm],
    declared: int,
    rate_calls: list[Call],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Print the table of medians and ratios; return the figures."""
    clean = statistics.median(m.seconds for m in runs["clean"])
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "revision": _revision(),
        "machine": _machine(),
        "declared": declared,
        "repeat": args.repeat,
        "storms": {},
    }
    print(f"\nfault bench  {out['date']}  driftwatch {out['revision']}  ({out['machine']})")
    print(
        f"{declared} declared resources, {args.repeat} rounds, max_concurrency "
        f"{args.concurrency}, read_timeout {READ_TIMEOUT} s"
    )
    print(
        f"{'storm':<14} {'median s':>9} {'× clean':>8} {'runs s':<24} {'faults':>7} "
        f"{'calls':>6}  same findings"
    )
    for name, ms in runs.items():
        med = statistics.median(m.seconds for m in ms)
        row = {
            "injected": storms[name].injected,
            "median_s": round(med, 2),
            "ratio": round(med / clean, 2),
            "runs_s": [round(m.seconds, 2) for m in ms],
            "faults": [m.faults for m in ms],
            "calls": [m.calls for m in ms],
            "same_findings": sum(m.same for m in ms),
        }
        out["storms"][name] = row
        runs_s = ", ".join(f"{s:.2f}" for s in row["runs_s"])
        print(
            f"{name:<14} {med:>9.2f} {row['ratio']:>7.2f}× {runs_s:<24} "
            f"{statistics.median(row['faults']):>7.0f} {statistics.median(row['calls']):>6.0f}"
            f"  {row['same_findings']}/{len(ms)}"
        )
    if rate_calls:
        conv = convergence(rate_calls, "s3", 20.0)
        out["ratelimit_s3"] = conv
        print(f"rate limit, s3 (second half of its calls, round 1): {conv}")
    return out


if __name__ == "__main__":
    sys.exit(main())
