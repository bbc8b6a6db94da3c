"""aws_iam_policy and aws_iam_user end to end: the `driftwatch scan` process against moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import seed_iam
from support.env import Aws, ManifestRepo, scan, write_config

TYPES = ("aws_iam_policy", "aws_iam_user")
SEEDERS = {"aws_iam_policy": seed_iam.policy, "aws_iam_user": seed_iam.user}
SCOPED = f"[scan]\ntypes = {json.dumps(list(TYPES))}\n"
NO_UNMANAGED = "[scan]\nunmanaged = false\n"
DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}


def test_in_sync(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    repo.declare(
        *({"type": t, "id": f"{t}-x", "spec": SEEDERS[t](aws, f"{t}-x")[0]} for t in TYPES)
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 0, run.stderr + run.stdout
    assert run.doc["summary"]["in_sync"] == 2, run.stdout
    assert run.doc["scan"]["status"] == "ok"


@pytest.mark.parametrize("rtype", TYPES)
def test_every_attribute_drifting(aws: Aws, repo: ManifestRepo, tmp_path: Path, rtype: str) -> None:
    _, drifted = SEEDERS[rtype](aws, "app")
    repo.declare({"type": rtype, "id": "app", "spec": drifted})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 2, run.stderr + run.stdout
    drift = run.drift(rtype, "app")
    assert drift["kind"] == "modified"
    changed = {c["path"].split(".")[0].split("[")[0] for c in drift["changes"]}
    assert changed == set(drifted), drift["changes"]
    for change in drift["changes"]:
        assert change["declared"] != change["live"], change


@pytest.mark.parametrize(
    "rtype,spec,calls",
    [
        ("aws_iam_policy", {"tags": {}}, 2),  # ListPolicies + GetPolicy
        ("aws_iam_policy", {"path": "/"}, 1),  # the listing only
        ("aws_iam_policy", {"policy": DOC, "description": "", "tags": {}}, 3),
        ("aws_iam_user", {"tags": {}}, 2),  # ListUsers + ListUserTags
        ("aws_iam_user", {"path": "/", "tags": {}, "managed_policy_arns": [], "groups": []}, 4),
    ],
)
def test_detail_calls_follow_declared_attributes(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, rtype: str, spec: dict, calls: int
) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName="bare")
    iam.create_policy(PolicyName="bare", PolicyDocument=json.dumps(DOC))
    repo.declare({"type": rtype, "id": "bare", "spec": spec})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=f'[scan]\ntypes = ["{rtype}"]\n'))
    assert run.doc["scan"]["api_calls"] == calls, run.stdout
    assert run.code == 0, run.stdout


def test_missing_and_unmanaged(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    iam = aws.client("iam")
    doc = json.dumps(DOC)
    for name in ("kept", "stray"):
        iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=doc)
        iam.create_user(UserName=f"{name}-user")
    iam.create_role(RoleName="stray-role", AssumeRolePolicyDocument="{}")  # not a watched type
    repo.declare(
        {"type": "aws_iam_policy", "id": "kept-policy", "spec": {"path": "/"}},
        {"type": "aws_iam_user", "id": "kept-user", "spec": {"groups": []}},
        {"type": "aws_iam_policy", "id": "deleted-policy", "spec": {"tags": {}}},
        {"type": "aws_iam_user", "id": "deleted-user", "spec": {}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=SCOPED))
    assert run.code == 2, run.stderr + run.stdout
    missing = {(d["type"], d["id"]) for d in run.findings("missing")}
    assert missing == {("aws_iam_policy", "deleted-policy"), ("aws_iam_user", "deleted-user")}
    unmanaged = {(d["type"], d["id"]) for d in run.findings("unmanaged")}
    assert unmanaged == {("aws_iam_policy", "stray-policy"), ("aws_iam_user", "stray-user")}
    assert run.doc["summary"]["in_sync"] == 2


def test_many_declared_roles_are_read_in_one_batch(aws: Aws, repo: ManifestRepo,
                                                    tmp_path: Path) -> None:
    """GetAccountAuthorizationDetails replaces 4 calls per role once it is cheaper."""
    iam = aws.client("iam")
    for i in range(10):
        iam.create_role(RoleName=f"r{i}", AssumeRolePolicyDocument="{}",
                        Tags=[{"Key": "n", "Value": str(i)}])
    repo.declare(*({"type": "aws_iam_role", "id": f"r{i}",
                    "spec": {"tags": {"n": str(i if i else 99)}, "managed_policy_arns": [],
                             "inline_policies": {}}} for i in range(10)))
    extra = '[scan]\ntypes = ["aws_iam_role"]\n'
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=extra))
    assert run.doc["scan"]["api_calls"] == 2  # ListRoles + one authorization-details page
    assert run.drift("aws_iam_role", "r0")["changes"] == [
        {"path": "tags.n", "declared": "99", "live": "0"}]
    assert run.doc["summary"]["in_sync"] == 9


def test_batch_denied_falls_back_to_per_role_reads(aws: Aws, repo: ManifestRepo,
                                                   tmp_path: Path) -> None:
    from support.faultproxy import Fault, FaultProxy

    iam = aws.client("iam")
    for i in range(4):
        iam.create_role(RoleName=f"r{i}", AssumeRolePolicyDocument="{}")
    repo.declare(*({"type": "aws_iam_role", "id": f"r{i}", "spec": {"tags": {}}}
                   for i in range(4)))
    proxy = FaultProxy(aws.url, [Fault("deny", service="iam",
                                       action="GetAccountAuthorizationDetails")]).start()
    try:
        extra = '[scan]\ntypes = ["aws_iam_role"]\n'
        run = scan(write_config(tmp_path, proxy.url, repo.path, extra=extra))
    finally:
        proxy.stop()
    assert proxy.faults[0].hits == 1
    assert run.code == 0 and run.doc["summary"]["in_sync"] == 4
    assert run.doc["errors"] == []
    assert run.doc["scan"]["api_calls"] == 1 + 1 + 4  # list, denied batch, one tag read each
