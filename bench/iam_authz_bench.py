"""IAM role detail reads: driftwatch's per-role calls against one GetAccountAuthorizationDetails.

Seeds a moto server process with roles that each have attached managed policies, inline
policies and tags, declares some of them with every attribute, then times, alternately:

- per-role: driftwatch's own `Collection` (ListRoles, then per declared role
  ListAttachedRolePolicies, ListRolePolicies + one GetRolePolicy per inline policy,
  ListRoleTags) at the given concurrency;
- authz: ListRoles, then a paginated `GetAccountAuthorizationDetails(Filter=["Role"])`
  (one sequential stream of pages; ListRoles is still needed for `description` and
  `max_session_duration`, which the authorization details do not carry).

Both sides must produce the same canonical attributes for every declared role.

Run from the repository root:
`.venv/bin/python bench/iam_authz_bench.py [--roles 200] [--declared 200 50 10]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import moto

import driftwatch.collectors  # noqa: F401  (registers the built-in collectors)
from driftwatch.aws import GLOBAL_API_REGION, AwsSessions
from driftwatch.collect import Collection, ScopePlan
from driftwatch.collectors.base import paginate
from driftwatch.collectors.iam import IamRole
from driftwatch.config import AccountConfig, AwsConfig
from driftwatch.demo import TRUST
from driftwatch.models import GLOBAL_REGION, DeclaredResource, Scope
from driftwatch.motoserver import MotoServer

REGION = "us-east-1"
SCOPE = Scope("bench", GLOBAL_REGION, "aws_iam_role")
ACCOUNT = AccountConfig("bench", (REGION,))
SHARED_POLICIES = 4  # customer-managed policies the roles attach, round robin


class BenchmarkError(Exception):
    """The two sides disagree, or a side reported an error."""


@dataclass
class Side:
    """One measurement of one side."""

    wall_s: float
    calls: dict[str, int]
    bytes_in: int

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


@dataclass
class Scenario:
    """Every timed run for one number of declared roles."""

    declared: int
    per_role: list[Side] = field(default_factory=list)
    authz: list[Side] = field(default_factory=list)


class Traffic:
    """botocore handlers counting requests by operation and response bytes, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.bytes_in = 0

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call", self._call)
        client.meta.events.register("after-call", self._response)

    def _call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1

    def _response(self, http_response: Any = None, **_: Any) -> None:
        size = len(http_response.content) if http_response is not None else 0
        with self._lock:
            self.bytes_in += size


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--roles", type=int, default=200, help="live roles in the account")
    p.add_argument(
        "--declared",
        type=int,
        nargs="+",
        default=None,
        help="declared roles (all attributes) per scenario; default: every role",
    )
    p.add_argument("--inline", type=int, default=1, help="inline policies per role")
    p.add_argument("--attached", type=int, default=2, help="attached managed policies per role")
    p.add_argument("--tags", type=int, default=2, help="tags per role")
    p.add_argument("--concurrency", type=int, default=8, help="aws.max_concurrency")
    p.add_argument("--repeat", type=int, default=5, help="timed runs of each side (median)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs of each side first")
    p.add_argument("--seed-workers", type=int, default=8, help="threads seeding moto")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Seed, measure each scenario with the sides interleaved, verify, print the figures."""
    args = parse_args(argv)
    declared_counts = args.declared or [args.roles]
    if max(declared_counts) > args.roles:
        raise SystemExit("--declared cannot exceed --roles")
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION
    )
    with (
        tempfile.TemporaryDirectory(prefix="dw-iam-bench-") as tmp,
        MotoServer(Path(tmp) / "moto.log") as server,
    ):
        t0 = time.perf_counter()
        names = seed(server.url, args)
        print(f"seeded {len(names)} roles in {time.perf_counter() - t0:.1f} s", flush=True)
        aws = AwsConfig(
            regions=(REGION,),
            accounts=(ACCOUNT,),
            endpoint_url=server.url,
            max_concurrency=args.concurrency,
        )
        scenarios = [measure(aws, names[:n], args) for n in declared_counts]
    figures = summarise(scenarios, args)
    print_figures(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


# --- fixture -----------------------------------------------------------------------------


def seed(endpoint: str, args: argparse.Namespace) -> list[str]:
    """Roles with trust policy, attached and inline policies and tags; returns their names."""
    iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint)
    arns = [
        iam.create_policy(
            PolicyName=f"bench-shared-{i}",
            PolicyDocument=json.dumps(_doc(f"s3:Get{i}*")),
        )["Policy"]["Arn"]
        for i in range(SHARED_POLICIES)
    ]
    names = [f"bench-role-{i:05d}" for i in range(args.roles)]

    # Roles are created from one thread: moto's create_role iterates the role dict, which
    # a concurrent create_role changes (a 500 from the server).
    for i, name in enumerate(names):
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST),
            Description=f"bench role {i}",
            Tags=[{"Key": f"k{t}", "Value": f"v{i}"} for t in range(args.tags)],
        )

    def policies(i: int) -> None:
        for a in range(args.attached):
            iam.attach_role_policy(RoleName=names[i], PolicyArn=arns[(i + a) % len(arns)])
        for p in range(args.inline):
            iam.put_role_policy(
                RoleName=names[i],
                PolicyName=f"inline-{p}",
                PolicyDocument=json.dumps(_doc("sqs:*")),
            )

    with ThreadPoolExecutor(args.seed_workers) as pool:
        list(pool.map(policies, range(args.roles)))
    return names


def _doc(action: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
    }


def declared_roles(names: list[str]) -> list[DeclaredResource]:
    """Declared roles that declare every attribute (values do not matter for reading)."""
    spec = {a: None for a in IamRole.attributes}
    return [
        DeclaredResource("aws_iam_role", n, ACCOUNT.name, GLOBAL_REGION, dict(spec), "bench")
        for n in names
    ]


# --- the two sides -----------------------------------------------------------------------


def run_per_role(aws: AwsConfig, names: list[str]) -> tuple[Side, dict[str, Any]]:
    """driftwatch's Collection, unchanged: listing, then every detail source per role."""
    sessions = AwsSessions(aws)
    traffic = Traffic()
    traffic.attach(sessions.client(ACCOUNT, GLOBAL_API_REGION, "iam"))
    declared = declared_roles(names)
    plan = ScopePlan(SCOPE, ACCOUNT, watched=False, declared=declared)
    t0 = time.perf_counter()
    got = Collection(sessions, aws.max_concurrency).run([plan])
    wall = time.perf_counter() - t0
    if got.errors or got.unchecked or len(got.matches) != len(declared):
        raise BenchmarkError(f"per-role: errors {got.errors[:3]}, unchecked {got.unchecked}")
    role = IamRole()
    attrs = {r.id: role.canonical(got.matches[id(r)].attrs, {}) for r in declared}
    return Side(wall, dict(traffic.calls), traffic.bytes_in), attrs


def run_authz(aws: AwsConfig, names: list[str]) -> tuple[Side, dict[str, Any]]:
    """ListRoles, then GetAccountAuthorizationDetails(Filter=[Role]) for every role at once."""
    sessions = AwsSessions(aws)
    traffic = Traffic()
    client = sessions.client(ACCOUNT, GLOBAL_API_REGION, "iam")
    traffic.attach(client)
    role = IamRole()
    t0 = time.perf_counter()
    listed = {live.id: live for live in role.list_resources(client, SCOPE)}
    details = {
        r["RoleName"]: r
        for r in paginate(
            client, "get_account_authorization_details", "RoleDetailList", Filter=["Role"]
        )
    }
    attrs = {}
    for name in names:
        d = details[name]
        raw = {
            **listed[name].attrs,
            "managed_policy_arns": [p["PolicyArn"] for p in d.get("AttachedManagedPolicies", [])],
            "inline_policies": {
                p["PolicyName"]: p["PolicyDocument"] for p in d.get("RolePolicyList", [])
            },
            "tags": d.get("Tags", []),
        }
        attrs[name] = role.canonical(raw, {})
    wall = time.perf_counter() - t0
    return Side(wall, dict(traffic.calls), traffic.bytes_in), attrs


def measure(aws: AwsConfig, names: list[str], args: argparse.Namespace) -> Scenario:
    """Warm-up, then timed runs of both sides, alternating which goes first; verify equality."""
    scenario = Scenario(len(names))
    for i in range(args.warmup + args.repeat):
        order = (run_per_role, run_authz) if i % 2 == 0 else (run_authz, run_per_role)
        results = {fn.__name__: fn(aws, names) for fn in order}
        (per_role, a), (authz, b) = results["run_per_role"], results["run_authz"]
        if a != b:
            bad = next(n for n in names if a.get(n) != b.get(n))
            raise BenchmarkError(f"sides disagree on {bad}: {a.get(bad)} != {b.get(bad)}")
        label = "warm-up" if i < args.warmup else f"run {i - args.warmup + 1}/{args.repeat}"
        print(
            f"declared {len(names)}, {label}: per-role {per_role.wall_s:.2f} s "
            f"({per_role.total_calls} calls), authz {authz.wall_s:.2f} s "
            f"({authz.total_calls} calls)",
            flush=True,
        )
        if i >= args.warmup:
            scenario.per_role.append(per_role)
            scenario.authz.append(authz)
    return scenario


# --- figures -----------------------------------------------------------------------------


def summarise(scenarios: list[Scenario], args: argparse.Namespace) -> dict[str, Any]:
    """Medians and call counts per scenario, as one JSON-ready mapping."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": (
            f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, boto3 {boto3.__version__}, "
            f"moto {moto.__version__}"
        ),
        "command": " ".join([".venv/bin/python", "bench/iam_authz_bench.py", *sys.argv[1:]]),
        "roles": args.roles,
        "per_role_shape": {"attached": args.attached, "inline": args.inline, "tags": args.tags},
        "concurrency": args.concurrency,
        "repeat": args.repeat,
        "scenarios": [_scenario(s) for s in scenarios],
    }


def _scenario(s: Scenario) -> dict[str, Any]:
    out: dict[str, Any] = {"declared": s.declared}
    for label, runs in (("per_role", s.per_role), ("authz", s.authz)):
        out[label] = {
            "median_s": round(statistics.median(r.wall_s for r in runs), 3),
            "runs_s": [round(r.wall_s, 3) for r in runs],
            "calls": runs[-1].total_calls,
            "calls_by_operation": runs[-1].calls,
            "response_bytes": runs[-1].bytes_in,
        }
    out["speedup"] = round(out["per_role"]["median_s"] / out["authz"]["median_s"], 2)
    return out


def print_figures(f: dict[str, Any]) -> None:
    """The human-readable result."""
    shape = f["per_role_shape"]
    print()
    print(f"IAM role detail reads  {f['date']}  ({f['machine']})")
    print(
        f"{f['roles']} live roles, each {shape['attached']} attached, {shape['inline']} inline, "
        f"{shape['tags']} tags; concurrency {f['concurrency']}; median of {f['repeat']}"
    )
    print(f"{'declared':>8}  {'side':<9}{'median':>8}  {'calls':>6}  {'KiB in':>8}  runs")
    for s in f["scenarios"]:
        for label in ("per_role", "authz"):
            r = s[label]
            runs = " ".join(f"{x:.2f}" for x in r["runs_s"])
            kib = r["response_bytes"] / 1024
            print(
                f"{s['declared']:>8}  {label:<9}{r['median_s']:>7.2f}s  {r['calls']:>6}  "
                f"{kib:>8.0f}  {runs}"
            )
        print(f"{'':>8}  per-role / authz wall time: {s['speedup']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
