"""Remediation end to end: the `driftwatch remediate` process against a moto server and real Git.

Plan → confirm → execute → verify, and the guard rails: off by default, stale plans
refused, a plan runs once, approval by a second person, a failing call → partial.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from support import seed
from support.env import Aws, ManifestRepo, Run, run_cli, scan, write_config
from support.faultproxy import Fault, FaultProxy

ENABLED = """
[scan]
unmanaged = false

[remediation]
enabled = true
"""


def drifted_bucket(aws: Aws, repo: ManifestRepo, tmp_path: Path, extra: str = ENABLED) -> Path:
    """A bucket whose every declared attribute differs from live, scanned once."""
    _, drifted = seed.bucket(aws, "acme-logs")
    repo.declare({"type": "aws_s3_bucket", "id": "acme-logs", "spec": drifted})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=extra)
    assert scan(cfg).code == 2
    return cfg


def drift_id(cfg: Path) -> str:
    run = run_cli("drifts", "--config", str(cfg), "--format", "json")
    (drift,) = json.loads(run.stdout)["drifts"]
    return str(drift["fingerprint"])


def remediate(cfg: Path, *args: str) -> Run:
    return run_cli("remediate", "--config", str(cfg), "--format", "json", *args)


def doc(run: Run) -> dict[str, Any]:
    return dict(json.loads(run.stdout))


def test_revert_is_planned_run_verified_and_resolves(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    cfg = drifted_bucket(aws, repo, tmp_path)
    fp = drift_id(cfg)
    run = remediate(cfg, fp[:10], "--mode", "revert", "--yes")
    assert run.code == 0, run.stderr + run.stdout
    row = doc(run)
    assert row["status"] == "succeeded"
    ops = [c["operation"] for c in row["plan"]["calls"]]
    # Public access is tightened first; every drifted attribute has its call.
    assert ops[0] == "put_public_access_block"
    assert set(ops) == {
        "put_public_access_block",
        "put_bucket_policy",
        "put_bucket_encryption",
        "put_bucket_versioning",
        "put_bucket_tagging",
    }
    assert all(step.get("ok") for step in row["result"]["steps"])
    assert row["result"]["remaining"] == []
    # Resolved at once, with an event naming the remediation; the next scan agrees.
    drifts = run_cli("drifts", "--config", str(cfg), "--status", "all", "--format", "json")
    (drift,) = json.loads(drifts.stdout)["drifts"]
    assert drift["status"] == "resolved"
    after = scan(cfg)
    assert after.code == 0, after.stdout
    assert after.doc["summary"]["in_sync"] == 1


def test_remediation_is_off_by_default(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    cfg = drifted_bucket(aws, repo, tmp_path, extra="[scan]\nunmanaged = false\n")
    run = remediate(cfg, drift_id(cfg), "--mode", "revert", "--yes")
    assert run.code == 1
    assert "remediation is off: set [remediation] enabled = true" in run.stderr


def test_a_stale_plan_is_refused_and_changes_nothing(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    cfg = drifted_bucket(aws, repo, tmp_path)
    planned = remediate(cfg, drift_id(cfg), "--mode", "revert", "--plan-only")
    assert planned.code == 0, planned.stderr
    rid = str(doc(planned)["id"])
    # Someone changes the bucket after the plan was reviewed.
    aws.client("s3").put_bucket_tagging(
        Bucket="acme-logs", Tagging={"TagSet": [{"Key": "changed", "Value": "later"}]}
    )
    run = run_cli("remediation", "run", rid, "--config", str(cfg), "--yes", "--format", "json")
    assert run.code == 1
    assert doc(run)["status"] == "refused"
    assert "live resource changed since the plan" in doc(run)["result"]["error"]
    tags = aws.client("s3").get_bucket_tagging(Bucket="acme-logs")["TagSet"]
    assert tags == [{"Key": "changed", "Value": "later"}]  # nothing was reverted


def test_a_plan_runs_once(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    cfg = drifted_bucket(aws, repo, tmp_path)
    rid = str(doc(remediate(cfg, drift_id(cfg), "--mode", "revert", "--plan-only"))["id"])
    first = run_cli("remediation", "run", rid, "--config", str(cfg), "--yes")
    assert first.code == 0, first.stderr
    second = run_cli("remediation", "run", rid, "--config", str(cfg), "--yes")
    assert second.code == 1
    assert "is succeeded; it cannot run again" in second.stderr


def test_approval_needs_a_second_person(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    cfg = drifted_bucket(aws, repo, tmp_path, extra=ENABLED + "require_approval = true\n")
    planned = remediate(cfg, drift_id(cfg), "--mode", "revert", "--yes")
    assert planned.code == 0
    assert "needs approval by a second person" in planned.stderr
    rid = str(doc(planned)["id"])
    run = run_cli("remediation", "run", rid, "--config", str(cfg), "--yes")
    assert run.code == 1 and "needs approval by a second person" in run.stderr
    own = run_cli("remediation", "approve", rid, "--config", str(cfg))
    assert own.code == 1 and "a second person must approve it" in own.stderr


@pytest.fixture()
def proxy(aws: Aws) -> Any:
    p = FaultProxy(aws.url).start()
    yield p
    p.stop()


def test_a_failing_call_stops_the_plan_and_reports_partial(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy
) -> None:
    _, drifted = seed.bucket(aws, "acme-logs")
    repo.declare({"type": "aws_s3_bucket", "id": "acme-logs", "spec": drifted})
    cfg = write_config(tmp_path, proxy.url, repo.path, extra=ENABLED)
    assert scan(cfg).code == 2
    # The permission to write the policy is revoked: the second call fails.
    proxy.faults.append(Fault("deny", service="s3", action="policy", method="PUT"))
    run = remediate(cfg, drift_id(cfg), "--mode", "revert", "--yes")
    assert run.code == 1, run.stdout
    row = doc(run)
    assert row["status"] == "partial"
    steps = row["result"]["steps"]
    assert [s["operation"] for s in steps] == ["put_public_access_block", "put_bucket_policy"]
    assert steps[0]["ok"] and "AccessDenied" in steps[1]["error"]
    remaining = {c["path"].split(".")[0] for c in row["result"]["remaining"]}
    assert remaining == {"policy", "server_side_encryption", "versioning", "tags"}
    drifts = json.loads(run_cli("drifts", "--config", str(cfg), "--format", "json").stdout)
    assert drifts["drifts"][0]["status"] == "open"  # not resolved by a partial revert


def test_accept_commits_the_live_value_on_a_branch_and_resolves_after_the_merge(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    s3.put_bucket_tagging(Bucket="logs", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    repo.write(
        "declared/buckets.yaml",
        """
        # Buckets of the platform team.
        resources:
          - type: aws_s3_bucket
            id: logs
            spec:
              tags:
                team: platform  # who pays
        """,
    )
    repo.commit("declare logs")
    extra = ENABLED + "\n[remediation.git]\npush = true\n"
    cfg = write_config(tmp_path, aws.url, repo.path, extra=extra)
    assert scan(cfg).code == 2
    fp = drift_id(cfg)
    run = remediate(cfg, fp, "--mode", "accept", "--yes")
    assert run.code == 0, run.stderr + run.stdout
    row = doc(run)
    assert row["status"] == "succeeded", row["result"]
    branch = row["result"]["branch"]
    assert branch == f"driftwatch/accept-{fp}"
    # Exactly the drifted path, the comment kept in its column.
    assert "-        team: platform  # who pays\n+        team: data      # who pays" in (
        row["plan"]["diff"]
    )
    shown = repo.git("show", f"{branch}:declared/buckets.yaml")
    assert "team: data" in shown and "# Buckets of the platform team." in shown
    # Not resolved until the watched branch has it.
    assert scan(cfg).code == 2
    repo.git("merge", "-q", branch)
    assert scan(cfg).code == 0


def test_pipeline_command_gets_the_drift_and_its_result_is_recorded(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    out = tmp_path / "pipeline-got.json"
    script = f"import sys, pathlib; pathlib.Path({str(out)!r}).write_text(sys.stdin.read())"
    argv = json.dumps([sys.executable, "-c", script, "{drift_id}"])
    extra = ENABLED + f'\n[[remediation.pipelines]]\nname = "apply"\ncommand = {argv}\n'
    extra += 'timeout = "20s"\n'
    cfg = drifted_bucket(aws, repo, tmp_path, extra=extra)
    fp = drift_id(cfg)
    run = remediate(cfg, fp, "--mode", "pipeline", "--pipeline", "apply", "--yes")
    assert run.code == 0, run.stderr + run.stdout
    row = doc(run)
    assert row["status"] == "succeeded", row["result"]
    got = json.loads(out.read_text())
    assert got["drift"]["drift_id"] == fp and got["pipeline"] == "apply"
    # The pipeline is asked to act; the drift resolves when a scan sees it in sync.
    drifts = json.loads(run_cli("drifts", "--config", str(cfg), "--format", "json").stdout)
    assert drifts["drifts"][0]["status"] == "open"
