"""aws_sqs_queue end to end: the `driftwatch scan` process against the moto server."""

from __future__ import annotations

from pathlib import Path

from support import seed_sqs
from support.env import Aws, ManifestRepo, assert_api_calls, scan, write_config

TYPE = "aws_sqs_queue"
ONLY_SQS = f'[scan]\ntypes = ["{TYPE}"]\n'
NO_UNMANAGED = "[scan]\nunmanaged = false\n"


def test_in_sync_when_declared_differently(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_sqs.queue(aws, "orders")
    fifo, _ = seed_sqs.fifo_queue(aws, "ledger.fifo")
    repo.declare(
        {"type": TYPE, "id": "orders", "spec": declared},
        {"type": TYPE, "id": "orders-dlq", "spec": {"redrive_policy": None}},
        {"type": TYPE, "id": "ledger.fifo", "spec": fifo},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_SQS))
    assert run.code == 0, run.stderr + run.stdout
    assert run.doc["summary"]["in_sync"] == 3
    assert run.doc["drifts"] == []


def test_every_attribute_drifting(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    _, drifted = seed_sqs.queue(aws, "orders")
    _, fifo_drifted = seed_sqs.fifo_queue(aws, "ledger.fifo")
    repo.declare(
        {"type": TYPE, "id": "orders", "spec": drifted},
        {"type": TYPE, "id": "ledger.fifo", "spec": fifo_drifted},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 2, run.stderr
    for rid, spec in (("orders", drifted), ("ledger.fifo", fifo_drifted)):
        drift = run.drift(TYPE, rid)
        assert drift["kind"] == "modified"
        changed = {c["path"].split(".")[0].split("[")[0] for c in drift["changes"]}
        assert changed == set(spec), drift["changes"]
        for change in drift["changes"]:
            assert change["declared"] != change["live"], change
    redrive = next(c for c in run.drift(TYPE, "orders")["changes"] if "redrive" in c["path"])
    assert redrive == {"path": "redrive_policy.maxReceiveCount", "declared": 3, "live": 5}


def test_missing_and_unmanaged(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    sqs = aws.client("sqs")
    for name in ("kept", "stray", "stray.fifo"):
        attrs = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
        sqs.create_queue(QueueName=name, Attributes=attrs)
    repo.declare(
        {"type": TYPE, "id": "kept", "spec": {"fifo_queue": False, "delay_seconds": 0}},
        {"type": TYPE, "id": "deleted-queue", "spec": {}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_SQS))
    assert run.code == 2, run.stderr
    assert {d["id"] for d in run.findings("missing")} == {"deleted-queue"}
    assert {d["id"] for d in run.findings("unmanaged")} == {"stray", "stray.fifo"}
    assert run.doc["summary"]["in_sync"] == 1


def test_unconfigured_queue_has_aws_defaults(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    aws.client("sqs").create_queue(QueueName="bare")
    spec = {
        "visibility_timeout_seconds": 30,
        "message_retention_seconds": 345600,
        "delay_seconds": 0,
        "fifo_queue": False,
        "kms_master_key_id": None,
        "policy": None,
        "redrive_policy": None,
        "tags": {},
    }
    repo.declare({"type": TYPE, "id": "bare", "spec": spec})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 0, run.stdout + run.stderr


def test_api_calls_follow_declared_attributes(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_sqs.queue(aws, "orders")
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    # ListQueues; GetQueueAttributes for the attributes it feeds; ListQueueTags for tags.
    assert_api_calls(
        repo,
        cfg,
        TYPE,
        "orders",
        (
            ({"fifo_queue": False}, 1),
            ({"tags": declared["tags"]}, 2),
            ({"delay_seconds": 5, "policy": declared["policy"]}, 2),
            (declared, 3),
        ),
    )
