"""`driftwatch init --from-live` against a scan of the manifests it writes, in one run.

Seeds a moto server process with N S3 buckets and N security groups (bench/scan_fixture.py),
then times, as real `driftwatch` processes:

- **init**: `driftwatch init --from-live --types aws_s3_bucket,aws_security_group`: list
  every scope, then read every attribute of every resource, and write the manifests;
- **scan** (the baseline): `driftwatch scan` of exactly those manifests, which also reads
  every attribute of every resource, once the folder is committed to Git.

init should cost one listing per scope more than the scan (it lists before it knows what
to read) and no more detail calls; the scan must report zero drift (checked: a wrong
baseline raises BenchmarkError and the command fails).

    .venv/bin/python bench/init_bench.py                 # N=200
    .venv/bin/python bench/init_bench.py --n 500 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scan_fixture import build_fixture, seed

from driftwatch.motoserver import MotoServer

TYPES = "aws_s3_bucket,aws_security_group"


class BenchmarkError(Exception):
    """A run that did not do what it claims: the figures would be meaningless."""


def driftwatch(
    *args: str, cwd: Path | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "driftwatch", *args], capture_output=True, text=True, cwd=cwd
    )
    return time.monotonic() - start, proc


def git(folder: Path, *args: str) -> None:
    ident = ["-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    subprocess.run(["git", *ident, *args], cwd=folder, check=True, capture_output=True)


def run_init(endpoint: str, folder: Path) -> tuple[float, int]:
    seconds, proc = driftwatch(
        "init", "--from-live", "--dir", str(folder), "--types", TYPES,
        "--regions", "us-east-1", "--endpoint-url", endpoint,
    )  # fmt: skip
    if proc.returncode != 0:
        raise BenchmarkError(f"init failed:\n{proc.stdout}{proc.stderr}")
    m = re.search(r"declared (\d+) resource\(s\).*?; (\d+) API calls", proc.stdout)
    if not m:
        raise BenchmarkError(f"init printed no summary:\n{proc.stdout}")
    return seconds, int(m.group(2))


def run_scan(folder: Path, expected: int) -> tuple[float, int]:
    seconds, proc = driftwatch("scan", "--config", str(folder / "driftwatch.toml"), "--format",
                               "json", "--no-store")  # fmt: skip
    if proc.returncode != 0:
        raise BenchmarkError(f"scan of init's manifests exited {proc.returncode}:\n{proc.stderr}")
    doc = json.loads(proc.stdout)
    if doc["summary"]["in_sync"] != expected or doc["scan"]["declared"] != expected:
        raise BenchmarkError(f"scan of init's manifests: {doc['summary']}, expected {expected}")
    return seconds, int(doc["scan"]["api_calls"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="buckets, and as many security groups")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed-workers", type=int, default=8)
    args = ap.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    work = Path(tempfile.mkdtemp(prefix="init-bench-"))
    server = MotoServer(log_path=work / "moto.log").start()
    try:
        fixture = build_fixture(args.n)
        seed(server.url, fixture, args.seed_workers)
        expected = 2 * args.n  # every bucket and group (the default group is AWS's own)
        inits, scans = [], []
        for i in range(args.repeat):
            folder = work / f"infra-{i}"
            inits.append(run_init(server.url, folder))
            git(folder, "init", "-q", "-b", "main")
            git(folder, "add", "-A")
            git(folder, "commit", "-q", "-m", "baseline")
            scans.append(run_scan(folder, expected))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    init_s = statistics.median(s for s, _ in inits)
    scan_s = statistics.median(s for s, _ in scans)
    init_calls, scan_calls = inits[0][1], scans[0][1]
    print(f"N={args.n} buckets + {args.n} security groups, {args.repeat} run(s), "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"init --from-live  {init_s:7.2f} s  {init_calls:6d} API calls")
    print(f"scan (baseline)   {scan_s:7.2f} s  {scan_calls:6d} API calls  (zero drift: checked)")
    print(f"ratio init/scan   {init_s / scan_s:7.2f} x  {init_calls / scan_calls:6.2f} x calls")


if __name__ == "__main__":
    main()
