"""Cloud Custodian as the comparison: write no-filter policies, run `custodian run`, count.

Two halves. The benchmark imports this module (no c7n needed) to write the policy file,
run Custodian in a subprocess and read what it found. The subprocess is this same file run
by the Python of the virtualenv that has c7n (`python bench/c7n_run.py --stats FILE --
run -s OUTDIR …`): it counts botocore API calls by operation, points endpoints that c7n
hard-codes (SQS's canonical `https://sqs.<region>.amazonaws.com`) at `AWS_ENDPOINT_URL`,
calls `c7n.cli.main`, and writes the counts and its own wall time to FILE.

c7n pins exact boto3/botocore/cryptography/PyYAML versions, so it lives in its own
virtualenv (default `bench/results/c7n-venv`), not in the project's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# driftwatch type → Custodian resource; the policy is named after the resource.
RESOURCES = {
    "aws_s3_bucket": "s3",
    "aws_security_group": "security-group",
    "aws_instance": "ec2",
    "aws_iam_role": "iam-role",
    "aws_iam_policy": "iam-policy",
    "aws_iam_user": "iam-user",
    "aws_lambda_function": "lambda",
    "aws_dynamodb_table": "dynamodb-table",
    "aws_sqs_queue": "sqs",
    "aws_sns_topic": "sns",
    "aws_db_instance": "rds",
    "aws_kms_key": "kms-key",
    "aws_cloudwatch_log_group": "log-group",
}
DEFAULT_VENV = Path(__file__).resolve().parent / "results" / "c7n-venv"


@dataclass
class C7nRun:
    """One `custodian run`: wall times, calls, what each policy returned, peak RSS."""

    wall_s: float  # the whole subprocess: interpreter start, imports, validation, policies
    main_s: float  # c7n.cli.main() alone, timed inside the subprocess
    cpu_s: float
    api_calls: int
    rss_mb: float
    resources: dict[str, int] = field(default_factory=dict)
    policy_s: dict[str, float] = field(default_factory=dict)
    calls_by_op: dict[str, int] = field(default_factory=dict)


def find_python(explicit: Path | None) -> Path | None:
    """The Python that can import c7n: the given one, else the default c7n virtualenv."""
    for candidate in (explicit, DEFAULT_VENV / "bin" / "python"):
        if candidate and candidate.exists():
            return candidate
    return None


def write_policies(path: Path, types: list[str]) -> Path:
    """A policy file with one filter-less policy per type."""
    lines = ["policies:"]
    lines += [f"  - {{name: {RESOURCES[t]}, resource: aws.{RESOURCES[t]}}}" for t in types]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_custodian(python: Path, types: list[str], outdir: Path, env: dict[str, str]) -> C7nRun:
    """Run a policy per type once in a fresh process (no cache) and read what each found."""
    policies = write_policies(outdir.with_suffix(".yml"), types)
    stats = outdir.with_suffix(".stats.json")
    cmd = [str(python), __file__, "--stats", str(stats), "--", "run", "-s", str(outdir)]
    cmd += ["--cache-period", "0", "-r", env["AWS_DEFAULT_REGION"], str(policies)]
    log = outdir.with_suffix(".log")
    with open(log, "wb") as out:
        child = measured_run(cmd, out, env=env)
    if child.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"custodian exited {child.returncode}; end of {log}:\n{tail}")
    got = json.loads(stats.read_text(encoding="utf-8"))
    names = [RESOURCES[t] for t in types]
    return C7nRun(
        wall_s=child.wall_s,
        main_s=got["main_s"],
        cpu_s=child.cpu_s,
        api_calls=sum(got["calls"].values()),
        rss_mb=child.rss_mb,
        resources={n: _count(outdir / n / "resources.json") for n in names},
        policy_s={n: _policy_time(outdir / n / "custodian-run.log") for n in names},
        calls_by_op=got["calls"],
    )


@dataclass
class Child:
    """How a measured subprocess ended: exit code, wall and CPU time, peak RSS."""

    returncode: int
    wall_s: float
    cpu_s: float
    rss_mb: float


# A small Python process starts the command and reports its rusage. Measuring the command
# directly with os.wait4 would not do: subprocess starts children with vfork, and Linux
# counts the parent's resident memory at exec time into the child's ru_maxrss, so a child
# of the (large) benchmark process would report at least the benchmark's own RSS.
_WRAPPER = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
code = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - t0
u = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{code} {wall} {u.ru_utime + u.ru_stime} {u.ru_maxrss}")
sys.exit(code)
"""


def measured_run(
    cmd: list[str], stdout: Any, stderr: Any = subprocess.STDOUT, env: dict[str, str] | None = None
) -> Child:
    """Run `cmd` through the small wrapper: its exit code, wall, CPU and peak RSS."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as report:
        wrapped = [sys.executable, "-c", _WRAPPER, report.name, *cmd]
        subprocess.run(wrapped, stdout=stdout, stderr=stderr, env=env, check=False)
        code, wall, cpu, maxrss_kb = report.read().split()
    return Child(int(code), float(wall), float(cpu), int(maxrss_kb) / 1024)


def _count(resources_json: Path) -> int:
    """Resources a policy returned; -1 when it wrote no resources.json (it failed)."""
    if not resources_json.exists():
        return -1
    return len(json.loads(resources_json.read_text(encoding="utf-8")))


def _policy_time(run_log: Path) -> float:
    """The `time:` c7n logs for a policy (seconds spent finding its resources)."""
    if not run_log.exists():
        return float("nan")
    for line in run_log.read_text(encoding="utf-8").splitlines():
        if " time:" in line:
            return float(line.rsplit(" time:", 1)[1].split()[0])
    return float("nan")


# --- the subprocess side (runs under the c7n virtualenv) ---------------------------------


class _Calls:
    """Counts botocore API calls by operation name, thread-safely."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_op: Counter[str] = Counter()

    def add(self, operation: str) -> None:
        with self.lock:
            self.by_op[operation] += 1


def _instrument(calls: _Calls, endpoint: str | None) -> None:
    """Count every API call; send hard-coded AWS endpoints to `endpoint` (moto) instead."""
    import botocore.client
    import botocore.session

    make_call = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: Any) -> Any:
        calls.add(operation_name)
        return make_call(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    if not endpoint:
        return
    create_client = botocore.session.Session.create_client

    def to_endpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
        if str(kwargs.get("endpoint_url") or "").endswith(".amazonaws.com"):
            kwargs["endpoint_url"] = endpoint
        return create_client(self, *args, **kwargs)

    botocore.session.Session.create_client = to_endpoint  # type: ignore[method-assign]


def child_main(argv: list[str]) -> int:
    """`--stats FILE -- <custodian arguments>`: run Custodian, write counts and time to FILE."""
    stats = Path(argv[argv.index("--stats") + 1])
    c7n_args = argv[argv.index("--") + 1 :]
    calls = _Calls()
    _instrument(calls, os.environ.get("AWS_ENDPOINT_URL"))
    from c7n.cli import main

    code = 0
    t0 = time.perf_counter()
    try:
        main(c7n_args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    main_s = time.perf_counter() - t0
    stats.write_text(json.dumps({"main_s": main_s, "calls": dict(calls.by_op)}), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
