"""Diff throughput: declared/live pairs through driftwatch's canonicalise+compare path.

Baseline, measured in the same run: deepdiff alone on the same canonical pairs
(what a naive "deepdiff everything" implementation pays). Target: ≥ 100k in-sync
pairs/s through driftwatch's path.

    .venv/bin/python bench/diff_bench.py [--pairs 100000] [--baseline-sample 3000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from deepdiff import DeepDiff

import driftwatch.collectors  # noqa: F401  (registers the built-in types)
from driftwatch.demo import TRUST
from driftwatch.diff import diff_resource
from driftwatch.models import DeclaredResource, Kind, LiveResource
from driftwatch.registry import collectors

Pair = tuple[DeclaredResource, LiveResource]


def bucket(i: int, drift: bool) -> Pair:
    spec = {
        "versioning": "Enabled",
        "tags": {"team": "platform", "n": i},
        "public_access_block": {"block_public_acls": True, "block_public_policy": True},
    }
    attrs = {
        "versioning": "Suspended" if drift else "Enabled",
        "tags": [{"Key": "team", "Value": "platform"}, {"Key": "n", "Value": str(i)}],
        "public_access_block": {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": False,
            "restrict_public_buckets": False,
        },
    }
    return _pair("aws_s3_bucket", f"b{i}", spec, attrs)


def group(i: int, drift: bool) -> Pair:
    spec = {
        "ingress": [
            {
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"],
            }
        ],
        "tags": {"team": "web"},
    }
    cidrs = ["10.0.0.0/8", "0.0.0.0/0" if drift else "192.168.0.0/16"]
    attrs = {
        "ingress": [
            {
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_blocks": [c],
                "description": None,
            }
            for c in cidrs
        ],
        "tags": [{"Key": "team", "Value": "web"}],
    }
    return _pair("aws_security_group", f"g{i}", spec, attrs)


def role(i: int, drift: bool) -> Pair:
    spec = {"assume_role_policy": TRUST, "path": "/app/", "tags": {"team": "app"}}
    live_trust = json.loads(json.dumps(TRUST))
    if drift:
        live_trust["Statement"][0]["Principal"]["Service"] = "lambda.amazonaws.com"
    attrs = {
        "assume_role_policy": live_trust,
        "path": "/app/",
        "tags": [{"Key": "team", "Value": "app"}],
    }
    return _pair("aws_iam_role", f"r{i}", spec, attrs)


def instance(i: int, drift: bool) -> Pair:
    spec = {
        "instance_type": "t3.micro",
        "ami": "ami-1",
        "vpc_security_group_ids": ["sg-2", "sg-1"],
        "tags": {"Name": f"i{i}"},
    }
    attrs = {
        "instance_type": "t3.large" if drift else "t3.micro",
        "ami": "ami-1",
        "vpc_security_group_ids": ["sg-1", "sg-2"],
        "tags": [{"Key": "Name", "Value": f"i{i}"}],
    }
    return _pair("aws_instance", f"i{i}", spec, attrs)


def _pair(rtype: str, rid: str, spec: dict[str, Any], attrs: dict[str, Any]) -> Pair:
    return (
        DeclaredResource(rtype, rid, "prod", "us-east-1", spec, "bench.yaml"),
        LiveResource(rtype, rid, "prod", "us-east-1", attrs=attrs),
    )


def make_pairs(n: int) -> list[Pair]:
    """n pairs over four types; every 100th pair drifts (99% in sync)."""
    makers: list[Callable[[int, bool], Pair]] = [bucket, group, role, instance]
    return [makers[i % 4](i, i % 100 == 99) for i in range(n)]


def driftwatch_rate(pairs: list[Pair]) -> tuple[float, int]:
    """As scan.build_findings does it: one collector instance per type, diff_resource per pair."""
    by_type = {name: cls() for name, cls in collectors}
    today = dt.date.today()
    start = time.perf_counter()
    key = bytes(32)
    modified = sum(
        diff_resource(by_type[d.type], d, lv, [], today, secret_key=key).kind == Kind.MODIFIED
        for d, lv in pairs
    )
    return len(pairs) / (time.perf_counter() - start), modified


def deepdiff_rate(pairs: list[Pair]) -> float:
    """deepdiff alone on the same (already canonical) sides: the naive baseline."""
    canon = []
    for d, lv in pairs:
        c = collectors.get(d.type)()
        canon.append(
            (
                c.canonical(d.spec, c.context(lv)),
                c.canonical({k: lv.attrs.get(k) for k in d.spec}, c.context(lv)),
            )
        )
    start = time.perf_counter()
    for want, have in canon:
        DeepDiff(want, have)
    return len(canon) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=100_000)
    ap.add_argument("--baseline-sample", type=int, default=3_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pairs = make_pairs(args.pairs)
    rates, modified = [], 0
    for _ in range(args.repeat):
        rate, modified = driftwatch_rate(pairs)
        rates.append(rate)
    expected = sum(1 for i in range(args.pairs) if i % 100 == 99)
    assert modified == expected, f"expected {expected} modified pairs, got {modified}"
    best = sorted(rates)[len(rates) // 2]
    base = deepdiff_rate(pairs[: args.baseline_sample])
    print(f"pairs                     {args.pairs:>10,} (99% in sync, {modified} modified)")
    print(f"driftwatch (median of {args.repeat})  {best:>10,.0f} pairs/s")
    print(f"deepdiff alone (baseline) {base:>10,.0f} pairs/s  (sample of {args.baseline_sample:,})")
    print(f"ratio                     {best / base:>10.1f}x  (target: >= 100,000 pairs/s)")


if __name__ == "__main__":
    main()
