"""Load benchmark: `driftwatch serve` under 50 logged-in clients while scans run.

    .venv/bin/python bench/load_bench.py                  # the figures in docs/reliability.md
    .venv/bin/python bench/load_bench.py --seconds 10     # quicker

Starts a moto server process, seeds `--buckets` S3 buckets (a tenth with a drifting
tag, a twentieth unmanaged, a twentieth declared but missing), declares them in a
`git init` repository, runs one scan, adds a user, and starts `driftwatch serve` as a
real process on a free loopback port. Then two phases of `--seconds` each, with
`--clients` threads, each logged in with its own session and keep-alive connection,
reading the drift list and drift pages at random:

1. baseline: no scan running;
2. under scans: `driftwatch scan` processes run back to back against the same
   database for the whole phase.

Prints requests, failed requests (anything but 200, or no answer), 5xx, p50/p95/p99
latency of each phase and the ratios of phase 2 to phase 1, and the scans' exit codes.
Exits 1 when a request failed or a scan did not finish with 0 or 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the suite's real-part helpers

from support.env import CREDS, ManifestRepo, scan, write_config  # noqa: E402
from support.load import LoadResult, ScanLoop, run_load  # noqa: E402
from support.serve import Client, Server  # noqa: E402

from driftwatch.motoserver import MotoServer  # noqa: E402
from driftwatch.store import Actor, Store  # noqa: E402
from driftwatch.users import ADMIN, hash_password  # noqa: E402

USER, PASSWORD = "bench", "bench password, long enough"


def seed(url: str, repo: ManifestRepo, n: int) -> None:
    """n buckets: most in sync, every 10th drifting, every 20th unmanaged, plus n/20
    declared buckets that do not exist."""
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)

    def make(i: int) -> dict[str, Any] | None:
        name = f"bench-{i:05d}"
        s3.create_bucket(Bucket=name)
        live = "data" if i % 10 == 0 else "platform"
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "team", "Value": live}]})
        if i % 20 == 5:
            return None  # unmanaged
        return {"type": "aws_s3_bucket", "id": name, "spec": {"tags": {"team": "platform"}}}

    with ThreadPoolExecutor(8) as pool:
        declared = [d for d in pool.map(make, range(n)) if d is not None]
    declared += [
        {"type": "aws_s3_bucket", "id": f"gone-{i:04d}", "spec": {}} for i in range(n // 20)
    ]
    for k in range(0, len(declared), 100):
        repo.write(
            f"declared/s3-{k // 100:03d}.yaml", json.dumps({"resources": declared[k : k + 100]})
        )
    repo.commit()


def prepare(workdir: Path, moto_url: str, buckets: int) -> Path:
    repo = ManifestRepo(workdir / "infra")
    seed(moto_url, repo, buckets)
    cfg = write_config(workdir, moto_url, repo.path, extra='[scan]\ntypes = ["aws_s3_bucket"]\n')
    first = scan(cfg)
    if first.code != 2:
        raise SystemExit(f"the first scan failed ({first.code}): {first.stderr[-2000:]}")
    store = Store(workdir / "state" / "driftwatch.db")
    store.upsert_user(USER, hash_password(PASSWORD), ADMIN, Actor("bench"))
    store.close()
    return cfg


def targets(port: int) -> list[str]:
    client = Client(port)
    assert client.login(USER, PASSWORD).status == 302
    doc = json.loads(client.get("/api/v1/drifts?status=all&limit=500").body)
    fps = [d["id"] for d in doc["drifts"]]
    client.close()
    return ["/drifts", "/drifts?status=all", "/drifts?kind=modified"] + [
        f"/drifts/{fp}" for fp in fps
    ]


def row(name: str, r: LoadResult) -> str:
    s = r.summary()
    return (
        f"{name:14} {s['requests']:>8} {s['rps']:>7} {s['failed']:>7} {s['5xx']:>5} "
        f"{s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--buckets", type=int, default=300)
    ap.add_argument("--threads", type=int, default=8, help="waitress threads (serve's default)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()
    os.environ.update(CREDS)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dw-load-bench-"))
    moto = MotoServer(log_path=workdir / "moto.log").start()
    server: Server | None = None
    try:
        t = time.perf_counter()
        cfg = prepare(workdir, moto.url, args.buckets)
        print(f"seeded {args.buckets} buckets and scanned in {time.perf_counter() - t:.1f}s")
        server = Server(cfg, workdir / "serve.log", "--threads", str(args.threads))
        server.wait_ready()
        paths = targets(server.port)
        load = os.getloadavg()[0]
        print(f"{len(paths)} pages; {args.clients} clients, {args.seconds:.0f}s a phase, "
              f"{args.threads} waitress threads; load average {load:.1f}")  # fmt: skip
        base = run_load(server.port, paths, args.clients, args.seconds, USER, PASSWORD)
        with ScanLoop(cfg) as scans:
            loaded = run_load(server.port, paths, args.clients, args.seconds, USER, PASSWORD)
    finally:
        if server is not None:
            server.stop()
        moto.stop()
    print(f"\n{'phase':14} {'requests':>8} {'rps':>7} {'failed':>7} {'5xx':>5} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")  # fmt: skip
    print(row("baseline", base))
    print(row("under scans", loaded))
    ratio = {p: round(loaded.pct(p) / max(base.pct(p), 0.001), 2) for p in (50, 95, 99)}
    print(f"ratio under scans / baseline: p50 {ratio[50]}x, p95 {ratio[95]}x, p99 {ratio[99]}x")
    print(f"scans during phase 2: {len(scans.codes)}, exit codes {sorted(set(scans.codes))}")
    errors = base.errors + loaded.errors
    if errors:
        print("errors:", errors[:10])
    doc = {"baseline": base.summary(), "under_scans": loaded.summary(), "ratio": ratio,
           "scans": scans.codes, "load_average": os.getloadavg()[0]}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2))
    print(json.dumps(doc))
    bad_scans = [c for c in scans.codes if c not in (0, 2)]
    if base.failed or loaded.failed or bad_scans or not scans.codes:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
