"""Test helpers: boto3 against moto, real Git repositories, the real CLI."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"
CREDS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@dataclass
class Aws:
    url: str

    def client(self, service: str, region: str = REGION, **creds: Any) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.url, **creds)

    def account_creds(self, account_id: str) -> dict[str, str]:
        """Credentials inside another moto account, by assuming a role there."""
        sts = self.client("sts")
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/seed", RoleSessionName="seed")[
            "Credentials"
        ]
        return {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }

    def ami(self, region: str = REGION) -> str:
        return str(
            self.client("ec2", region).describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        )


class ManifestRepo:
    """A real `git init` repository holding manifests under `declared/`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "test@example.com")
        self.git("config", "user.name", "test")

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.path, check=True, capture_output=True, text=True
        ).stdout.strip()

    def write(self, rel: str, text: str) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())
        return target

    def commit(self, message: str = "update") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def declare(self, *resources: dict[str, Any], rel: str = "declared/main.yaml") -> str:
        """Write resources as one manifest (JSON is valid YAML) and commit."""
        self.write(rel, json.dumps({"resources": list(resources)}, indent=2))
        return self.commit()


def write_config(
    tmp_path: Path,
    endpoint: str,
    repo_url: str | Path,
    extra: str = "",
    aws_extra: str = "",
    regions: tuple[str, ...] = (REGION,),
) -> Path:
    path = tmp_path / "driftwatch.toml"
    path.write_text(
        textwrap.dedent(f"""
        [git]
        url = "{repo_url}"
        branch = "main"
        path = "declared"

        [aws]
        regions = {json.dumps(list(regions))}
        endpoint_url = "{endpoint}"
        max_concurrency = 4
        max_attempts = 2
        connect_timeout = 2
        read_timeout = 10
        {aws_extra}

        [storage]
        path = "state/driftwatch.db"
        """)
        + textwrap.dedent(extra)
    )
    return path


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))

    def findings(self, kind: str) -> list[dict[str, Any]]:
        if kind == "not_checked":
            return list(self.doc["not_checked"])
        return [d for d in self.doc["drifts"] if d["kind"] == kind]

    def drift(self, rtype: str, rid: str) -> dict[str, Any]:
        found = [d for d in self.doc["drifts"] if d["type"] == rtype and d["id"] == rid]
        assert len(found) == 1, (rtype, rid, self.doc["drifts"])
        return found[0]


def run_cli(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run the real `driftwatch` command in a child process."""
    proc = subprocess.run(
        [sys.executable, "-m", "driftwatch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Measured:
    run: Run
    seconds: float
    max_rss_mb: float


def run_cli_measured(*args: str, memory_cap_mb: int = 3000) -> Measured:
    """Run `driftwatch` in a child process; its wall time and peak RSS (from wait4)."""
    cap = memory_cap_mb * 1024 * 1024

    def limit() -> None:  # a regression must fail the test, not exhaust the machine
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "driftwatch", *args], stdout=out, stderr=err, preexec_fn=limit
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(proc.returncode, out.read(), err.read())
    return Measured(run, seconds, usage.ru_maxrss / 1024)  # Linux: ru_maxrss is in KiB


def scan(config: Path, *extra: str) -> Run:
    return run_cli("scan", "--config", str(config), "--format", "json", *extra)


def assert_api_calls(
    repo: ManifestRepo,
    cfg: Path,
    rtype: str,
    rid: str,
    cases: tuple[tuple[dict[str, Any], int], ...],
) -> None:
    """For each (spec, calls): declare the spec alone and check the scan's API-call count."""
    for spec, calls in cases:
        repo.declare({"type": rtype, "id": rid, "spec": spec})
        run = scan(cfg, "--no-store")
        assert run.code == 0, run.stdout + run.stderr
        assert run.doc["scan"]["api_calls"] == calls, spec
