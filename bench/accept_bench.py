"""Accept into Git on a large manifest: plan_accept() against the parse-and-write floor.

    .venv/bin/python bench/accept_bench.py             # N=2000 resources in one file, median of 3
    .venv/bin/python bench/accept_bench.py --n 500 --repeat 5

The floor is what any comment-keeping writer must do: ruamel.yaml's round-trip load
and dump of the same file (json.loads and json.dumps for JSON). plan_accept() adds
finding the entry, writing and checking the drifted values, and the unified diff.
Every run checks the diff is exactly the drifted lines.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from ruamel.yaml import YAML

import driftwatch.collectors  # noqa: F401  (registers the resource types)
from driftwatch.models import Change, DeclaredResource
from driftwatch.remediation.accept import plan_accept


class BenchmarkError(Exception):
    """A plan that is not exactly the drifted lines: the figures would mean nothing."""


def yaml_manifest(n: int) -> str:
    entries = "".join(
        f"  # bucket {i}: logs of team t{i}\n"
        f"  - type: aws_s3_bucket\n"
        f"    id: b{i}\n"
        f"    spec:\n"
        f"      versioning: Enabled   # required\n"
        f"      tags:\n"
        f"        team: t{i}\n"
        f'        cost: "{i}"\n'
        for i in range(n)
    )
    return "# buckets\nresources:\n" + entries


def json_manifest(n: int) -> str:
    items = [
        {
            "type": "aws_s3_bucket",
            "id": f"b{i}",
            "spec": {"versioning": "Enabled", "tags": {"team": f"t{i}", "cost": str(i)}},
        }
        for i in range(n)
    ]
    return json.dumps({"resources": items}, indent=2) + "\n"


def plan(text: str, path: str, n: int) -> Any:
    rid = f"b{n // 2}"
    lines = text.splitlines()
    line = next((i for i, ln in enumerate(lines) if ln.strip() == f"id: {rid}"), None)
    res = DeclaredResource("aws_s3_bucket", rid, "default", "us-east-1", {}, path, line)
    have = {"versioning": "Suspended", "tags": {"team": "moved", "cost": str(n // 2)}}
    changes = [
        Change("tags.team", f"t{n // 2}", "moved"),
        Change("versioning", "Enabled", "Suspended"),
    ]
    return plan_accept(res, have, changes, text, set())


def check(result: Any) -> None:
    lines = [ln for ln in result.diff.splitlines() if ln[:1] in "+-"][2:]
    if len(lines) != 4 or not any("moved" in ln for ln in lines):
        raise BenchmarkError(f"unexpected diff:\n{result.diff}")


def yaml_floor(text: str) -> None:
    yaml = YAML(typ="rt")
    out = io.StringIO()
    yaml.dump(yaml.load(text), out)


def json_floor(text: str) -> None:
    json.dumps(json.loads(text), indent=2)


def median_s(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="resources in the one manifest file")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    for name, text, path, floor in (
        ("yaml", yaml_manifest(args.n), "big.yaml", yaml_floor),
        ("json", json_manifest(args.n), "big.json", json_floor),
    ):
        check(plan(text, path, args.n))
        ours = median_s(lambda t=text, p=path: plan(t, p, args.n), args.repeat)  # type: ignore[misc]
        base = median_s(lambda t=text, f=floor: f(t), args.repeat)  # type: ignore[misc]
        print(
            f"{name}: {args.n} resources, {len(text.splitlines())} lines: plan_accept "
            f"{ours:.3f} s, floor (parse + write) {base:.3f} s, ratio {ours / base:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
