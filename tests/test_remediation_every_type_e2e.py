"""Revert for every resource type, end to end through `driftwatch remediate` against the
moto server: Git declares a value for every attribute that differs from live; a revert
fixes everything its plan claims to fix, the next scan agrees, and whatever the plan
called not revertible is exactly what is left."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import (
    seed,
    seed_dynamodb,
    seed_iam,
    seed_kms,
    seed_lambda,
    seed_logs,
    seed_rds,
    seed_sns,
    seed_sqs,
)
from support.env import Aws, ManifestRepo, run_cli, scan, write_config

from driftwatch.paths import split_path

Spec = dict[str, Any]


def _last_two(result: tuple[Any, ...]) -> tuple[Spec, Spec]:
    return result[-2], result[-1]


SEEDERS: dict[str, tuple[str, Callable[[Aws], tuple[Spec, Spec]]]] = {
    "aws_s3_bucket": ("acme-logs", lambda aws: seed.bucket(aws, "acme-logs")),
    "aws_security_group": ("web", lambda aws: _last_two(seed.security_group(aws, "web"))),
    "aws_iam_role": ("app", lambda aws: seed.role(aws, "app")),
    "aws_instance": ("api-1", lambda aws: _last_two(seed.instance(aws, "api-1"))),
    "aws_iam_policy": ("deploy", lambda aws: seed_iam.policy(aws, "deploy")),
    "aws_iam_user": ("alice", lambda aws: seed_iam.user(aws, "alice")),
    "aws_lambda_function": ("api", lambda aws: seed_lambda.function(aws, "api")),
    "aws_dynamodb_table": ("orders", lambda aws: seed_dynamodb.table(aws, "orders")),
    "aws_sqs_queue": ("jobs", lambda aws: seed_sqs.queue(aws, "jobs")),
    "aws_sns_topic": ("alerts", lambda aws: seed_sns.topic(aws, "alerts")),
    "aws_db_instance": ("orders-db", lambda aws: seed_rds.instance(aws, "orders-db")),
    "aws_kms_key": ("alias/app", lambda aws: _last_two(seed_kms.key(aws, "alias/app"))),
    "aws_cloudwatch_log_group": ("/app/api", lambda aws: seed_logs.log_group(aws, "/app/api")),
}

# Attributes moto cannot change (the planner is tested on them as data in the type's
# tests/test_remediator_<module>.py): moto 5.2.5 answers HTTP 500 to
# logs:AssociateKmsKey and logs:DisassociateKmsKey; it implements neither
# ec2:MonitorInstances nor ec2:UnmonitorInstances; and it keys a user's tags by its ARN,
# which holds the path, so moving the user drops its tags there, not on AWS (the path
# is reverted alone in test_remediator_iam.py).
MOTO_GAPS = {
    "aws_cloudwatch_log_group": ("kms_key_id",),
    "aws_instance": ("monitoring",),
    "aws_iam_user": ("path",),
}

ENABLED = """
[scan]
unmanaged = false

[remediation]
enabled = true
"""


@pytest.mark.parametrize("rtype", sorted(SEEDERS))
def test_revert_every_attribute(aws: Aws, repo: ManifestRepo, tmp_path: Path, rtype: str) -> None:
    rid, seeder = SEEDERS[rtype]
    _, drifted = seeder(aws)
    drifted = {k: v for k, v in drifted.items() if k not in MOTO_GAPS.get(rtype, ())}
    repo.declare({"type": rtype, "id": rid, "spec": drifted})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=ENABLED)
    before = scan(cfg)
    assert before.code == 2, before.stdout + before.stderr
    drift = before.drift(rtype, rid)
    run = run_cli(
        "remediate", drift["fingerprint"], "--config", str(cfg), "--mode", "revert", "--yes",
        "--format", "json",
    )  # fmt: skip
    row = json.loads(run.stdout)
    refused = {n["path"] for n in row["plan"]["not_revertible"]}
    fixed = set(row["plan"]["fixes"])
    assert fixed, f"{rtype}: the plan fixes nothing: {row['plan']}"
    assert row["status"] == "succeeded", row["result"]
    assert run.code == 0
    after = scan(cfg)
    left = {c["path"] for d in after.doc["drifts"] for c in d["changes"]}
    # What is left is exactly what the plan said it could not revert.
    assert {split_path(p)[0] for p in left} == {split_path(p)[0] for p in refused}, (
        left,
        refused,
    )
    if not refused:
        assert after.code == 0, after.stdout
        drifts = json.loads(run_cli("drifts", "--config", str(cfg), "--status", "all",
                                    "--format", "json").stdout)["drifts"]  # fmt: skip
        assert drifts[0]["status"] == "resolved"
