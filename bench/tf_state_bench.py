"""Terraform state: driftwatch's streaming read, projection and fold against `json.load`.

Writes synthetic v4 states (`bench/tf_state_fixture.py`: 20,000 resources, about 50 MB,
and a 5× larger one), then measures each side in a fresh child process, interleaved
(which side goes first alternates), median of `--repeat`:

- **driftwatch**: `load_terraform` on a `file:` source: ijson streams `resources[]`,
  every kept instance is projected to what Terraform owns, split children are folded
  into their parents, duplicates are checked. The result is checked (resource and fold
  counts) so that a broken reader cannot pass for a fast one.
- **json.load**: the standard library loading the same file whole (nothing else).
- **ijson items**: ijson building every `resources[]` entry and dropping it: the floor
  of any streaming reader of this document.

Time is wall time inside the child (imports excluded). Peak RSS growth is the child's
VmHWM after the work minus its VmRSS before it, with the high-water mark reset first
(`/proc/self/clear_refs`), so imports and the interpreter do not count.

Run from the repository root: `.venv/bin/python bench/tf_state_bench.py`
(about 2 minutes; `--no-large` skips the 5× state; `--json FILE` writes the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tf_state_fixture import write_state

SIDES = ("driftwatch", "json.load", "ijson items")
TARGETS = {"small": (2.0, 100.0), "large": (None, 120.0)}  # seconds, MB of RSS growth


class BenchmarkError(Exception):
    """A side failed or produced the wrong result."""


def _status(field: str) -> int:
    """A /proc/self/status figure in kB (VmRSS, VmHWM)."""
    text = Path("/proc/self/status").read_text()
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert m is not None
    return int(m.group(1))


def child(side: str, path: Path) -> dict[str, Any]:
    """One measurement in this (fresh) process: time and peak RSS growth of one side."""
    import ijson

    from driftwatch.config import load_config
    from driftwatch.declared.terraform.load import load_terraform
    from driftwatch.declared.terraform.sources import ReadContext

    cfg_path = path.with_suffix(".toml")
    cfg_path.write_text(f'[[terraform]]\nname = "bench"\nfrom = "file:{path.name}"\n')
    cfg = load_config(cfg_path)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {}
    if side == "driftwatch":
        got = load_terraform(cfg, ReadContext(cfg), b"k" * 32)
        folded = sum(1 for r in got.resources for note in r.notes.values() if "from " in note)
        out = {
            "declared": len(got.resources),
            "folded": folded,
            "kept": got.states[0].kept,
            "failures": [f.error for f in got.failures],
        }
    elif side == "json.load":
        with path.open("rb") as f:
            doc = json.load(f)
        out = {"resources": len(doc["resources"])}
    else:
        n = 0
        with path.open("rb") as f:
            for _ in ijson.items(f, "resources.item", use_float=True):
                n += 1
        out = {"resources": n}
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "side": side,
        "seconds": wall,
        "cpu": cpu,
        "rss_growth_mb": (_status("VmHWM") - before) / 1024,
        "baseline_mb": before / 1024,
        "backend": ijson.backend_name,
        **out,
    }


def run_child(side: str, path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", side, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchmarkError(f"{side} on {path.name} failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout))


def expected(path: Path) -> tuple[int, int]:
    """Parents and folded attributes the fixture holds, counted by a plain json.load."""
    from driftwatch.declared.terraform.mapping import TYPES

    with path.open("rb") as f:
        doc = json.load(f)
    types = [r["type"] for r in doc["resources"] if r["mode"] == "managed"]
    parents = sum(1 for t in types if t in TYPES)
    folds = {
        "aws_s3_bucket_versioning": 1,
        "aws_s3_bucket_public_access_block": 1,
        "aws_vpc_security_group_ingress_rule": 1,
        "aws_iam_role_policy_attachment": 1,
    }
    return parents, sum(folds.get(t, 0) for t in types)


def check(result: dict[str, Any], path: Path, count: int, want: tuple[int, int]) -> None:
    if result["side"] == "driftwatch":
        if result["failures"] or (result["declared"], result["folded"]) != want:
            raise BenchmarkError(f"driftwatch read {path.name} wrongly: {result} (want {want})")
    elif result["resources"] != count:
        raise BenchmarkError(f"{result['side']} saw {result['resources']} resources, not {count}")


def measure(path: Path, count: int, repeat: int) -> dict[str, Any]:
    want = expected(path)
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SIDES}
    for r in range(repeat):
        order = SIDES[r % len(SIDES) :] + SIDES[: r % len(SIDES)]
        for side in order:
            got = run_child(side, path)
            check(got, path, count, want)
            runs[side].append(got)
    return {
        side: {
            "seconds": statistics.median(x["seconds"] for x in rs),
            "cpu": statistics.median(x["cpu"] for x in rs),
            "rss_growth_mb": statistics.median(x["rss_growth_mb"] for x in rs),
            "max_rss_growth_mb": max(x["rss_growth_mb"] for x in rs),
            "backend": rs[0]["backend"],
            "detail": {k: v for k, v in rs[0].items() if k in ("declared", "folded", "kept")},
        }
        for side, rs in runs.items()
    }


def report(name: str, size: int, count: int, figures: dict[str, Any]) -> bool:
    seconds, rss = TARGETS[name]
    dw = figures["driftwatch"]
    print(f"\n{name}: {count:,} resources, {size / 1e6:.1f} MB")
    print(f"  {'side':<12} {'wall s':>7} {'cpu s':>7} {'RSS growth MB (median/max)':>28}")
    for side, f in figures.items():
        print(
            f"  {side:<12} {f['seconds']:>7.2f} {f['cpu']:>7.2f} "
            f"{f['rss_growth_mb']:>18.1f} / {f['max_rss_growth_mb']:.1f}"
        )
    print(f"  driftwatch kept/declared/folded: {dw['detail']}")
    ok = dw["max_rss_growth_mb"] <= rss and (seconds is None or dw["seconds"] <= seconds)
    target = f"<= {seconds} s and " if seconds else ""
    print(f"  target: {target}<= {rss} MB RSS growth: {'met' if ok else 'MISSED'}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--count", type=int, default=20_000, help="resources in the small state")
    ap.add_argument("--large-factor", type=int, default=5)
    ap.add_argument("--no-large", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, help="keep the states here")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--child", nargs=2, metavar=("SIDE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return 0
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tf-state-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = [("small", args.count)]
    if not args.no_large:
        sizes.append(("large", args.count * args.large_factor))
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    results: dict[str, Any] = {}
    ok = True
    for name, count in sizes:
        path = work / f"{name}.tfstate"
        t0 = time.perf_counter()
        size = write_state(path, count)
        print(f"wrote {path} ({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
        figures = measure(path, count, args.repeat)
        ok &= report(name, size, count, figures)
        results[name] = {"bytes": size, "resources": count, **figures}
        if not args.workdir:
            path.unlink()
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nijson backend: {results['small']['driftwatch']['backend']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
