"""aws_cloudwatch_log_group end to end: the `driftwatch scan` process against the moto server."""

from __future__ import annotations

from pathlib import Path

from support import seed_logs
from support.env import Aws, ManifestRepo, assert_api_calls, scan, write_config

TYPE = "aws_cloudwatch_log_group"
ONLY_LOGS = f'[scan]\ntypes = ["{TYPE}"]\n'
NO_UNMANAGED = "[scan]\nunmanaged = false\n"


def test_in_sync_when_declared_differently(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_logs.log_group(aws, "/app/api")
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/app/forever")
    logs.create_log_group(logGroupName="/app/forever-too")
    repo.declare(
        {"type": TYPE, "id": "/app/api", "spec": declared},
        # Never expire, written both ways; no key written as null and as "".
        {"type": TYPE, "id": "/app/forever", "spec": {"retention_in_days": 0, "kms_key_id": ""}},
        {
            "type": TYPE,
            "id": "/app/forever-too",
            "spec": {"retention_in_days": None, "kms_key_id": None, "tags": {}},
        },
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_LOGS))
    assert run.code == 0, run.stderr + run.stdout
    assert run.doc["summary"]["in_sync"] == 3
    assert run.doc["drifts"] == []


def test_every_attribute_drifting(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    _, drifted = seed_logs.log_group(aws, "/app/api")
    repo.declare({"type": TYPE, "id": "/app/api", "spec": drifted})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 2, run.stderr
    drift = run.drift(TYPE, "/app/api")
    assert drift["kind"] == "modified"
    changed = {c["path"].split(".")[0].split("[")[0] for c in drift["changes"]}
    assert changed == set(drifted), drift["changes"]
    for change in drift["changes"]:
        assert change["declared"] != change["live"], change
    retention = next(c for c in drift["changes"] if c["path"] == "retention_in_days")
    assert retention == {"path": "retention_in_days", "declared": 0, "live": 30}


def test_missing_and_unmanaged(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    logs = aws.client("logs")
    # Groups that Lambda or RDS create on first use are customer resources: unmanaged.
    for name in ("/app/kept", "/app/stray", "/aws/lambda/api"):
        logs.create_log_group(logGroupName=name)
    repo.declare(
        {"type": TYPE, "id": "/app/kept", "spec": {"retention_in_days": 0}},
        {"type": TYPE, "id": "/app/deleted", "spec": {}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_LOGS))
    assert run.code == 2, run.stderr
    assert {d["id"] for d in run.findings("missing")} == {"/app/deleted"}
    assert {d["id"] for d in run.findings("unmanaged")} == {"/app/stray", "/aws/lambda/api"}
    assert run.doc["summary"]["in_sync"] == 1


def test_api_calls_follow_declared_attributes(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_logs.log_group(aws, "/app/api")
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    # DescribeLogGroups feeds retention and key; ListTagsForResource feeds tags.
    assert_api_calls(
        repo,
        cfg,
        TYPE,
        "/app/api",
        (
            ({"tags": declared["tags"]}, 2),
            ({"retention_in_days": 30, "kms_key_id": declared["kms_key_id"]}, 1),
            (declared, 2),
        ),
    )
