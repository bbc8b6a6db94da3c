"""Reverts of the Lambda, RDS and SQS types through `driftwatch remediate`, on the moto server.

The planners and their round trips are in tests/test_remediator_*.py; here the whole
path runs: scan → plan (stored redacted) → execute → verify → resolved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support import seed_lambda, seed_rds
from support.env import Aws, ManifestRepo, Run, run_cli, scan, write_config
from support.seed_lambda import OTHER_SECRET, SECRET, STAGE

ENABLED = """
[scan]
unmanaged = false

[remediation]
enabled = true
"""


def _drift_id(cfg: Path) -> str:
    run = run_cli("drifts", "--config", str(cfg), "--format", "json")
    (drift,) = json.loads(run.stdout)["drifts"]
    return str(drift["fingerprint"])


def _remediate(cfg: Path, *args: str) -> Run:
    return run_cli("remediate", "--config", str(cfg), "--format", "json", *args)


def _doc(run: Run) -> dict[str, Any]:
    return dict(json.loads(run.stdout))


def _stored_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file())


def test_lambda_revert_sends_git_secrets_but_never_shows_or_stores_them(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    spec, _ = seed_lambda.function(aws, "api")
    aws.client("lambda").update_function_configuration(
        FunctionName="api",
        MemorySize=1024,
        Environment={"Variables": {"DB_PASSWORD": OTHER_SECRET, "PORT": "8080", "EXTRA": "x"}},
    )
    repo.declare({"type": "aws_lambda_function", "id": "api", "spec": spec})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=ENABLED)
    assert scan(cfg).code == 2
    run = _remediate(cfg, _drift_id(cfg), "--mode", "revert", "--yes")
    assert run.code == 0, run.stderr + run.stdout
    row = _doc(run)
    assert row["status"] == "succeeded"
    [call] = row["plan"]["calls"]
    assert call["operation"] == "update_function_configuration"
    assert set(call["params"]["Environment"]["Variables"]) == {"DB_PASSWORD", "PORT", "STAGE"}
    stored = _stored_bytes(tmp_path)
    for value in (SECRET, OTHER_SECRET, STAGE):
        for text in (run.stdout, run.stderr):
            assert value not in text
        assert value.encode() not in stored
    env = aws.client("lambda").get_function_configuration(FunctionName="api")["Environment"]
    assert env["Variables"] == {"DB_PASSWORD": SECRET, "PORT": "8080", "STAGE": STAGE}
    assert row["result"]["remaining"] == [] and row["result"]["other_drift"] == []


def test_rds_revert_says_when_it_applies_and_applies_now_only_when_asked(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    spec, _ = seed_rds.instance(aws, "db")
    aws.client("rds").modify_db_instance(
        DBInstanceIdentifier="db", BackupRetentionPeriod=1, ApplyImmediately=True
    )
    repo.declare({"type": "aws_db_instance", "id": "db", "spec": spec})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=ENABLED)
    assert scan(cfg).code == 2
    fp = _drift_id(cfg)
    later = _doc(_remediate(cfg, fp, "--mode", "revert", "--plan-only"))
    [call] = later["plan"]["calls"]
    assert call["params"]["ApplyImmediately"] is False
    assert "next maintenance window" in call["note"]
    run = _remediate(cfg, fp, "--mode", "revert", "--option", "apply_immediately", "--yes")
    assert run.code == 0, run.stderr + run.stdout
    row = _doc(run)
    assert row["status"] == "succeeded"
    assert row["plan"]["calls"][0]["params"] == {
        "DBInstanceIdentifier": "db",
        "BackupRetentionPeriod": 7,
        "ApplyImmediately": True,
    }


def test_an_unmanaged_queue_is_deleted_when_deleting_is_allowed(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    aws.client("sqs").create_queue(QueueName="stray")
    repo.declare()
    extra = '[scan]\ntypes = ["aws_sqs_queue"]\n\n[remediation]\nenabled = true\n'
    cfg = write_config(tmp_path, aws.url, repo.path, extra=extra + "delete_unmanaged = true\n")
    assert scan(cfg).code == 2
    run = _remediate(cfg, _drift_id(cfg), "--mode", "revert", "--option", "delete", "--yes")
    assert run.code == 0, run.stderr + run.stdout
    assert [c["operation"] for c in _doc(run)["plan"]["calls"]] == ["delete_queue"]
    assert aws.client("sqs").list_queues().get("QueueUrls", []) == []
