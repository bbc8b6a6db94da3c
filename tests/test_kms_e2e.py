"""aws_kms_key end to end: the `driftwatch scan` process against the moto server."""

from __future__ import annotations

from pathlib import Path

from support import seed_kms
from support.env import Aws, ManifestRepo, assert_api_calls, scan, write_config
from support.seed_kms import ACCOUNT

TYPE = "aws_kms_key"
ONLY_KMS = f'[scan]\ntypes = ["{TYPE}"]\n'
NO_UNMANAGED = "[scan]\nunmanaged = false\n"


def test_in_sync_when_declared_differently(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    _, declared, _ = seed_kms.key(aws, "alias/orders")
    repo.declare({"type": TYPE, "id": "alias/orders", "spec": declared})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_KMS))
    assert run.code == 0, run.stderr + run.stdout
    assert run.doc["summary"]["in_sync"] == 1
    assert run.doc["drifts"] == []


def test_every_attribute_drifting(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    key_id, _, drifted = seed_kms.key(aws, "alias/orders")
    repo.declare({"type": TYPE, "id": key_id, "spec": drifted})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 2, run.stderr
    drift = run.drift(TYPE, key_id)
    assert drift["kind"] == "modified"
    changed = {c["path"].split(".")[0].split("[")[0] for c in drift["changes"]}
    assert changed == set(drifted), drift["changes"]
    for change in drift["changes"]:
        assert change["declared"] != change["live"], change


def test_missing_and_unmanaged(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    seed_kms.bare_key(aws, "alias/kept")
    stray = seed_kms.bare_key(aws)
    stray_aliased = seed_kms.bare_key(aws, "alias/stray")
    doomed = seed_kms.bare_key(aws)
    kms = aws.client("kms")
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    kms.describe_key(KeyId="alias/aws/s3")  # moto creates the AWS-managed key on first use
    seed_kms.bare_key(aws, "alias/elsewhere", region="eu-west-1")
    repo.declare(
        {"type": TYPE, "id": "alias/kept", "spec": {"key_usage": "ENCRYPT_DECRYPT"}},
        {"type": TYPE, "id": "alias/deleted", "spec": {"tags": {}}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_KMS))
    assert run.code == 2, run.stderr
    assert {d["id"] for d in run.findings("missing")} == {"alias/deleted"}
    # The alias/aws/s3 key is AWS-managed; a key pending deletion is still live.
    assert {d["id"] for d in run.findings("unmanaged")} == {stray, stray_aliased, doomed}
    assert run.doc["summary"]["in_sync"] == 1


def test_key_ids_and_arns_name_the_key(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    key_id = seed_kms.bare_key(aws, "alias/a")
    other = seed_kms.bare_key(aws)
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{other}"
    repo.declare(
        {"type": TYPE, "id": key_id, "spec": {"description": None}},
        {"type": TYPE, "id": arn, "spec": {"description": ""}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_KMS))
    assert run.code == 0, run.stdout + run.stderr
    assert run.doc["summary"]["in_sync"] == 2


def test_deletion_window_is_never_drift_while_aws_hides_it(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    key_id, _, _ = seed_kms.key(aws, "alias/orders")
    aws.client("kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    # Pending deletion, with a 7-day window: DescribeKey shows a DeletionDate, not the window.
    repo.declare({"type": TYPE, "id": "alias/orders", "spec": {"deletion_window_in_days": 30}})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 0, run.stdout + run.stderr
    assert run.doc["summary"]["in_sync"] == 1


def test_unconfigured_key_reads_as_defaults(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    seed_kms.bare_key(aws, "alias/bare")
    default_policy = {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": ACCOUNT},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    spec = {
        "description": "",
        "key_usage": "ENCRYPT_DECRYPT",
        "enable_key_rotation": False,
        "policy": default_policy,
        "tags": {},
    }
    repo.declare({"type": TYPE, "id": "alias/bare", "spec": spec})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 0, run.stdout + run.stderr


def test_api_calls_follow_declared_attributes(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    _, declared, _ = seed_kms.key(aws, "alias/orders")
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    # ListKeys + ListAliases, then one call per detail source the spec needs.
    assert_api_calls(
        repo,
        cfg,
        TYPE,
        "alias/orders",
        (
            ({"tags": declared["tags"]}, 2 + 1),
            ({"description": "orders data", "key_usage": "ENCRYPT_DECRYPT"}, 2 + 1),
            ({"enable_key_rotation": True}, 2 + 1),
            ({"policy": declared["policy"]}, 2 + 1),
            (declared, 2 + 4),
        ),
    )
