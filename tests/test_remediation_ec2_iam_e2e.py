"""EC2 and IAM reverts end to end: `driftwatch remediate` against the moto server and real Git.

What the planners need beyond a scan's reads goes through the orchestration here:
the instance's state and the stop/change/start waiters, an IAM policy's version
list, and the lists an unmanaged role is emptied of before it is deleted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.exceptions as bex
import pytest
from support import seed, seed_iam
from support.env import Aws, ManifestRepo, Run, run_cli, scan, write_config

ENABLED = """
[scan]
unmanaged = false

[remediation]
enabled = true
"""


def _remediate(cfg: Path, fp: str, *args: str) -> Run:
    return run_cli("remediate", "--config", str(cfg), "--format", "json", fp, *args)


def _row(run: Run) -> dict[str, Any]:
    assert run.code == 0, run.stdout + run.stderr
    row = dict(json.loads(run.stdout))
    assert row["status"] == "succeeded", row
    assert row["result"]["remaining"] == []
    return row


def _declare_and_scan(
    repo: ManifestRepo, tmp_path: Path, aws: Aws, resource: dict[str, Any]
) -> tuple[Path, str]:
    """The config and the drift id of the one declared resource, after a first scan."""
    repo.declare(resource)
    cfg = write_config(tmp_path, aws.url, repo.path, extra=ENABLED)
    first = scan(cfg)
    assert first.code == 2, first.stdout + first.stderr
    return cfg, str(first.drift(resource["type"], resource["id"])["fingerprint"])


def test_security_group_rules_reverted_and_resolved(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    gid, spec, _ = seed.security_group(aws, "e2e-web")
    ec2 = aws.client("ec2")
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )  # fmt: skip
    ec2.revoke_security_group_egress(
        GroupId=gid,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
             "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}
        ],
    )  # fmt: skip
    cfg, fp = _declare_and_scan(
        repo, tmp_path, aws, {"type": "aws_security_group", "id": "e2e-web", "spec": spec}
    )
    row = _row(_remediate(cfg, fp, "--mode", "revert", "--yes"))
    assert [c["operation"] for c in row["plan"]["calls"]] == [
        "revoke_security_group_ingress",
        "authorize_security_group_egress",
    ]
    after = scan(cfg)
    assert after.code == 0, after.stdout
    assert after.doc["summary"]["in_sync"] == 1


def test_instance_type_stop_change_start_through_the_cli(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    ec2 = aws.client("ec2")
    iid = ec2.run_instances(
        ImageId=aws.ami(), MinCount=1, MaxCount=1, InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": "Name", "Value": "e2e-app"}]}],
    )["Instances"][0]["InstanceId"]  # fmt: skip
    ec2.stop_instances(InstanceIds=[iid])
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.large"})
    ec2.start_instances(InstanceIds=[iid])
    cfg, fp = _declare_and_scan(
        repo,
        tmp_path,
        aws,
        {"type": "aws_instance", "id": "e2e-app", "spec": {"instance_type": "t3.micro"}},
    )
    row = _row(_remediate(cfg, fp, "--mode", "revert", "--option", "stop_start", "--yes"))
    calls = row["plan"]["calls"]
    assert [c["operation"] for c in calls] == [
        "stop_instances",
        "modify_instance_attribute",
        "start_instances",
    ]
    assert [c.get("waiter") for c in calls] == ["instance_stopped", None, "instance_running"]
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert (inst["InstanceType"], inst["State"]["Name"]) == ("t3.micro", "running")


def test_iam_policy_at_five_versions_prunes_the_oldest(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    spec, drifted = seed_iam.policy(aws, "e2e-pol")
    iam = aws.client("iam")
    arn = iam.list_policies(Scope="Local")["Policies"][0]["Arn"]
    for default in (True, False, False):
        iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=json.dumps(drifted["policy"]), SetAsDefault=default
        )
    cfg, fp = _declare_and_scan(
        repo, tmp_path, aws, {"type": "aws_iam_policy", "id": "e2e-pol", "spec": spec}
    )
    row = _row(_remediate(cfg, fp, "--mode", "revert", "--yes"))
    prune, create = row["plan"]["calls"]
    assert prune["params"]["VersionId"] == "v1" and "prunes v1" in prune["note"]
    assert create["operation"] == "create_policy_version"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v2", "v3", "v4", "v5", "v6"]


def test_delete_an_unmanaged_role_empties_it_first(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    seed.role(aws, "e2e-stray")
    iam = aws.client("iam")
    iam.create_instance_profile(InstanceProfileName="e2e-stray")
    iam.add_role_to_instance_profile(InstanceProfileName="e2e-stray", RoleName="e2e-stray")
    repo.declare()
    extra = """
    [scan]
    types = ["aws_iam_role"]

    [remediation]
    enabled = true
    delete_unmanaged = true
    """
    cfg = write_config(tmp_path, aws.url, repo.path, extra=extra)
    first = scan(cfg, "--allow-declared-drop")
    assert first.code == 2, first.stdout + first.stderr
    fp = str(first.drift("aws_iam_role", "e2e-stray")["fingerprint"])
    run = _remediate(cfg, fp, "--mode", "revert", "--option", "delete", "--yes")
    assert run.code == 0, run.stdout + run.stderr
    row = json.loads(run.stdout)
    assert row["status"] == "succeeded", row
    assert [c["operation"] for c in row["plan"]["calls"]] == [
        "remove_role_from_instance_profile",
        "detach_role_policy",
        "detach_role_policy",
        "delete_role_policy",
        "delete_role",
    ]
    with pytest.raises(bex.ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName="e2e-stray")
