"""aws_sns_topic end to end: the `driftwatch scan` process against the moto server."""

from __future__ import annotations

from pathlib import Path

from support import seed_sns
from support.env import Aws, ManifestRepo, assert_api_calls, scan, write_config

TYPE = "aws_sns_topic"
ONLY_SNS = f'[scan]\ntypes = ["{TYPE}"]\n'
NO_UNMANAGED = "[scan]\nunmanaged = false\n"


def test_in_sync_when_declared_differently(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_sns.topic(aws, "alerts")
    repo.declare({"type": TYPE, "id": "alerts", "spec": declared})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_SNS))
    assert run.code == 0, run.stderr + run.stdout
    assert run.doc["summary"]["in_sync"] == 1
    assert run.doc["drifts"] == []


def test_every_attribute_drifting(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    _, drifted = seed_sns.topic(aws, "alerts")
    repo.declare({"type": TYPE, "id": "alerts", "spec": drifted})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 2, run.stderr
    drift = run.drift(TYPE, "alerts")
    assert drift["kind"] == "modified"
    changed = {c["path"].split(".")[0].split("[")[0] for c in drift["changes"]}
    assert changed == set(drifted), drift["changes"]
    for change in drift["changes"]:
        assert change["declared"] != change["live"], change


def test_default_policy_and_undeclared_policy(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    arn = aws.client("sns").create_topic(Name="plain")["TopicArn"]
    # AWS's default topic policy: not compared unless declared; declared null is drift.
    repo.declare(
        {"type": TYPE, "id": "plain", "spec": {"display_name": None, "tags": {}}},
    )
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    run = scan(cfg)
    assert run.code == 0, run.stdout + run.stderr
    repo.declare({"type": TYPE, "id": "plain", "spec": {"policy": None}})
    run = scan(cfg)
    assert run.code == 2, run.stderr
    [change] = run.drift(TYPE, "plain")["changes"]
    assert change["path"] == "policy" and change["declared"] is None
    assert change["live"]["Statement"][0]["Resource"] == [arn]


def test_missing_and_unmanaged(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    sns = aws.client("sns")
    for name in ("kept", "stray", "stray-2"):
        sns.create_topic(Name=name)
    repo.declare(
        {"type": TYPE, "id": "kept", "spec": {"display_name": "", "kms_master_key_id": None}},
        {"type": TYPE, "id": "deleted-topic", "spec": {}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_SNS))
    assert run.code == 2, run.stderr
    assert {d["id"] for d in run.findings("missing")} == {"deleted-topic"}
    assert {d["id"] for d in run.findings("unmanaged")} == {"stray", "stray-2"}
    assert run.doc["summary"]["in_sync"] == 1


def test_api_calls_follow_declared_attributes(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_sns.topic(aws, "alerts")
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    # ListTopics; GetTopicAttributes for display name, key and policy; ListTagsForResource.
    assert_api_calls(
        repo,
        cfg,
        TYPE,
        "alerts",
        (
            ({"tags": declared["tags"]}, 2),
            ({"display_name": "Ops alerts", "policy": declared["policy"]}, 2),
            (declared, 3),
        ),
    )
