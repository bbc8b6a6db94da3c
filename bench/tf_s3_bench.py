"""Terraform state from S3: many sources × workspaces, read as a scan reads them.

Starts a moto server process, puts `--states` states with `--workspaces` workspaces each
into one bucket (`app<i>/terraform.tfstate` for `default`, `env:/<ws>/app<i>/…` for the
others; `--resources` resources each, from `bench/tf_state_fixture.py`, named apart so
nothing is declared twice), writes one `[[terraform]]` source per state with
`workspaces = ["*"]`, then times `load_terraform` with the scan's `AwsSessions`
(clients created inside the timed region), median of `--repeat`. Every run must read
every workspace, declare every resource and fail nothing.

Target (issue 12): 200 states × 3 workspaces in ≤ 10 s.

Run from the repository root: `.venv/bin/python bench/tf_s3_bench.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tf_state_fixture import state_bytes

from driftwatch.aws import AwsSessions
from driftwatch.config import load_config
from driftwatch.declared.terraform.load import load_terraform
from driftwatch.declared.terraform.mapping import TYPES
from driftwatch.declared.terraform.sources import ReadContext
from driftwatch.motoserver import MotoServer

BUCKET = "tfstate"
WORKSPACES = ("default", "staging", "prod")


def seed(url: str, states: int, workspaces: int, resources: int) -> int:
    """Put every state; return how many declared resources they hold."""
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
    s3.create_bucket(Bucket=BUCKET)
    jobs = []
    for i in range(states):
        for w, ws in enumerate(WORKSPACES[:workspaces]):
            key = f"app{i}/terraform.tfstate"
            jobs.append((key if ws == "default" else f"env:/{ws}/{key}", (i * 3 + w) * resources))

    def put(job: tuple[str, int]) -> int:
        key, first = job
        body = state_bytes(resources, first)
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        doc = json.loads(body)
        return sum(1 for r in doc["resources"] if r["mode"] == "managed" and r["type"] in TYPES)

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(put, jobs))


def measure(work: Path, args: argparse.Namespace) -> tuple[list[float], int]:
    """Seed moto, then time load_terraform `args.repeat` times; (times, states read)."""
    with MotoServer(log_path=work / "moto.log") as moto:
        t0 = time.perf_counter()
        declared = seed(moto.url, args.states, args.workspaces, args.resources)
        print(
            f"seeded {args.states} states x {args.workspaces} workspaces in "
            f"{time.perf_counter() - t0:.1f} s ({declared:,} declared resources)"
        )
        blocks = [
            f'[[terraform]]\nname = "app{i}"\nfrom = "s3://{BUCKET}/app{i}/terraform.tfstate"\n'
            'workspaces = ["*"]\n'
            for i in range(args.states)
        ]
        cfg_path = work / "driftwatch.toml"
        cfg_path.write_text(
            f'[aws]\nregions = ["us-east-1"]\nendpoint_url = "{moto.url}"\n\n' + "\n".join(blocks)
        )
        cfg = load_config(cfg_path)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            got = load_terraform(cfg, ReadContext(cfg, AwsSessions(cfg.aws)), b"k" * 32)
            times.append(time.perf_counter() - t0)
            if got.failures or len(got.states) != args.states * args.workspaces:
                raise SystemExit(f"read {len(got.states)} states, failures: {got.failures[:3]}")
            if len(got.resources) != declared:
                raise SystemExit(f"declared {len(got.resources)}, not {declared}")
    return times, len(got.states)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--states", type=int, default=200)
    ap.add_argument("--workspaces", type=int, default=3, choices=(1, 2, 3))
    ap.add_argument("--resources", type=int, default=20, help="resources per state")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for k, v in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}.items():
        os.environ.setdefault(k, v)
    work = Path(tempfile.mkdtemp(prefix="tf-s3-bench-"))
    try:
        times, states = measure(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = statistics.median(times)
    print(
        f"{states} states read: {median:.2f} s median "
        f"(runs: {', '.join(f'{t:.2f}' for t in times)}), load {os.getloadavg()[0]:.1f}"
    )
    ok = median <= 10
    print(f"target: <= 10 s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
