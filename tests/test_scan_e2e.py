"""End to end through the `driftwatch scan` process, against a moto server process and real Git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import seed
from support.env import Aws, ManifestRepo, run_cli, scan, write_config

TYPES = ("aws_s3_bucket", "aws_security_group", "aws_iam_role", "aws_instance")


def seed_all(aws: Aws) -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """One fully configured resource of every type: {type: (id, declared, drifted)}."""
    b_decl, b_drift = seed.bucket(aws, "acme-logs")
    _, sg_decl, sg_drift = seed.security_group(aws, "web")
    r_decl, r_drift = seed.role(aws, "app")
    _, i_decl, i_drift = seed.instance(aws, "api-1")
    return {
        "aws_s3_bucket": ("acme-logs", b_decl, b_drift),
        "aws_security_group": ("web", sg_decl, sg_drift),
        "aws_iam_role": ("app", r_decl, r_drift),
        "aws_instance": ("api-1", i_decl, i_drift),
    }


def test_every_type_in_sync(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    seeded = seed_all(aws)
    repo.declare(*({"type": t, "id": rid, "spec": decl} for t, (rid, decl, _) in seeded.items()))
    # The instance seeder makes helper groups; declare them so nothing is unmanaged.
    cfg = write_config(tmp_path, aws.url, repo.path, extra="[scan]\nunmanaged = false\n")
    run = scan(cfg)
    assert run.code == 0, run.stderr + run.stdout
    assert run.doc["summary"] == {
        "in_sync": 4,
        "modified": 0,
        "missing": 0,
        "unmanaged": 0,
        "not_checked": 0,
    }
    assert run.doc["scan"]["status"] == "ok"
    assert run.doc["scan"]["commit"] == repo.git("rev-parse", "HEAD")


@pytest.mark.parametrize("rtype", TYPES)
def test_every_attribute_drifting(aws: Aws, repo: ManifestRepo, tmp_path: Path, rtype: str) -> None:
    rid, _, drifted = seed_all(aws)[rtype]
    repo.declare({"type": rtype, "id": rid, "spec": drifted})
    cfg = write_config(tmp_path, aws.url, repo.path, extra="[scan]\nunmanaged = false\n")
    run = scan(cfg)
    assert run.code == 2, run.stderr
    drift = run.drift(rtype, rid)
    assert drift["kind"] == "modified"
    changed_attrs = {c["path"].split(".")[0].split("[")[0] for c in drift["changes"]}
    assert changed_attrs == set(drifted), drift["changes"]
    # Each change shows the declared value against the live one.
    for change in drift["changes"]:
        assert change["declared"] != change["live"], change


def test_drift_changes_are_readable(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed.bucket(aws, "acme-logs")
    declared["tags"] = {"team": "data", "cost": "42"}
    _, sg_decl, _ = seed.security_group(aws, "web")
    sg_decl["ingress"] = sg_decl["ingress"][:2]  # the 10.0.0.0/8 rule is now extra live
    repo.declare(
        {"type": "aws_s3_bucket", "id": "acme-logs", "spec": declared},
        {"type": "aws_security_group", "id": "web", "spec": sg_decl},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra="[scan]\nunmanaged = false\n"))
    assert run.drift("aws_s3_bucket", "acme-logs")["changes"] == [
        {"path": "tags.team", "declared": "data", "live": "platform"}
    ]
    assert run.drift("aws_security_group", "web")["changes"] == [
        {
            "path": 'ingress["tcp 443-443 10.0.0.0/8"]',
            "declared": None,
            "live": {
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_blocks": ["10.0.0.0/8"],
                "description": None,
            },
        }
    ]


def test_missing_and_unmanaged(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    s3, iam = aws.client("s3"), aws.client("iam")
    s3.create_bucket(Bucket="declared-bucket")
    s3.create_bucket(Bucket="stray-bucket")
    iam.create_role(RoleName="stray-role", AssumeRolePolicyDocument="{}")
    iam.create_role(
        RoleName="AWSServiceRoleForSupport",
        Path="/aws-service-role/support/",
        AssumeRolePolicyDocument="{}",
    )
    aws.client("ec2").create_security_group(GroupName="stray-sg", Description="x")
    repo.declare(
        {"type": "aws_s3_bucket", "id": "declared-bucket", "spec": {}},
        {"type": "aws_s3_bucket", "id": "deleted-bucket", "spec": {"tags": {}}},
        {"type": "aws_iam_role", "id": "deleted-role", "spec": {}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path))
    assert run.code == 2
    missing = {(d["type"], d["id"]) for d in run.findings("missing")}
    assert missing == {("aws_s3_bucket", "deleted-bucket"), ("aws_iam_role", "deleted-role")}
    unmanaged = {(d["type"], d["id"]) for d in run.findings("unmanaged")}
    sg_id = [d["id"] for d in run.findings("unmanaged") if d["type"] == "aws_security_group"]
    # The default VPC's `default` group and the service-linked role are AWS's own.
    assert unmanaged == {
        ("aws_s3_bucket", "stray-bucket"),
        ("aws_iam_role", "stray-role"),
        ("aws_security_group", sg_id[0]),
    }
    assert run.doc["summary"]["in_sync"] == 1


def test_unmanaged_costs_no_detail_calls(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    s3 = aws.client("s3")
    for i in range(5):
        s3.create_bucket(Bucket=f"stray-{i}")
    s3.create_bucket(Bucket="kept")
    repo.declare({"type": "aws_s3_bucket", "id": "kept", "spec": {"tags": {}}})
    extra = '[scan]\ntypes = ["aws_s3_bucket"]\n'
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=extra))
    assert len(run.findings("unmanaged")) == 5
    # One ListBuckets for the region, one GetBucketTagging for the declared bucket.
    assert run.doc["scan"]["api_calls"] == 2


def test_ignore_rules_and_expiry(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed.bucket(aws, "acme-logs")
    aws.client("s3").put_bucket_tagging(
        Bucket="acme-logs",
        Tagging={
            "TagSet": [
                {"Key": "team", "Value": "platform"},
                {"Key": "cost", "Value": "42"},
                {"Key": "LastPatched", "Value": "today"},
                {"Key": "Owner", "Value": "bob"},
            ]
        },
    )
    _, i_decl, _ = seed.instance(aws, "api-1")
    i_decl["instance_type"] = "t3.large"
    repo.declare(
        {"type": "aws_s3_bucket", "id": "acme-logs", "spec": declared, "ignore": ["tags.Owner"]},
        {"type": "aws_instance", "id": "api-1", "spec": i_decl},
    )
    extra = """
        [scan]
        unmanaged = false

        [[ignore]]
        type = "aws_s3_*"
        path = "tags.LastPatched"
        reason = "patch bot"

        [[ignore]]
        type = "aws_instance"
        id = "api-*"
        path = "instance_type"
        reason = "resize trial"
        expires = "2020-01-31"
        """
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=extra))
    # Both tag rules apply, so the bucket is in sync; the expired rule no longer hides drift.
    assert run.doc["summary"]["in_sync"] == 1
    assert run.drift("aws_instance", "api-1")["changes"] == [
        {"path": "instance_type", "declared": "t3.large", "live": "t3.micro"}
    ]
    assert run.doc["expired_ignore_rules"] == [
        {
            "index": 1,
            "kind": "modified",
            "type": "aws_instance",
            "id": "api-*",
            "path": "instance_type",
            "reason": "resize trial",
            "expires": "2020-01-31",
        }
    ]
    cfg = write_config(tmp_path, aws.url, repo.path, extra=extra)
    table = run_cli("scan", "--config", str(cfg), "--format", "table")
    assert table.code == 2, table.stderr
    assert "ignore rule expired on 2020-01-31" in table.stdout
    assert "instance_type: t3.large → t3.micro" in table.stdout
    assert "LastPatched" not in table.stdout and "Owner" not in table.stdout


def test_two_regions_and_two_accounts(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    other = aws.account_creds("222222222222")
    seed.bucket(aws, "east-bucket")
    seed.bucket(aws, "west-bucket", region="eu-west-1")
    seed.bucket(aws, "staging-bucket", region="eu-west-1", **other)
    iam2 = aws.client("iam", **other)
    iam2.create_role(RoleName="staging-only", AssumeRolePolicyDocument="{}")
    repo.declare(
        {"type": "aws_s3_bucket", "id": "east-bucket", "spec": {"versioning": "Enabled"}},
        {
            "type": "aws_s3_bucket",
            "id": "west-bucket",
            "region": "eu-west-1",
            "spec": {"versioning": "Suspended"},
        },
        {
            "type": "aws_s3_bucket",
            "id": "staging-bucket",
            "region": "eu-west-1",
            "account": "staging",
            "spec": {"tags": {"team": "platform", "cost": "1"}},
        },
        {"type": "aws_iam_role", "id": "staging-only", "account": "staging", "spec": {}},
    )
    aws_extra = """
        [[aws.accounts]]
        name = "prod"
        regions = ["us-east-1", "eu-west-1"]

        [[aws.accounts]]
        name = "staging"
        role_arn = "arn:aws:iam::222222222222:role/driftwatch-read"
        regions = ["eu-west-1"]
        """
    extra = '[scan]\ntypes = ["aws_s3_bucket", "aws_iam_role"]\n'
    run = scan(write_config(tmp_path, aws.url, repo.path, aws_extra=aws_extra, extra=extra))
    assert run.code == 2, run.stderr
    assert run.doc["errors"] == []
    west = run.drift("aws_s3_bucket", "west-bucket")
    assert (west["account"], west["region"]) == ("prod", "eu-west-1")
    assert west["changes"] == [{"path": "versioning", "declared": "Suspended", "live": "Enabled"}]
    staging = run.drift("aws_s3_bucket", "staging-bucket")
    assert staging["account"] == "staging"
    assert staging["changes"] == [{"path": "tags.cost", "declared": "1", "live": "42"}]
    # The role exists only in the staging account: in sync there, not unmanaged anywhere.
    assert not [d for d in run.findings("unmanaged") if d["id"] == "staging-only"]
    assert run.doc["summary"]["in_sync"] == 2  # east-bucket, staging-only
    assert run.doc["summary"]["unmanaged"] == 0
