"""Reverts of aws_iam_role, aws_iam_policy and aws_iam_user: pure plans, then moto round trips."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions as bex
import pytest
from support import seed, seed_iam
from support.env import Aws
from support.revert import (
    checked,
    declared,
    execute,
    plan,
    pure_target,
    read_live,
    read_target,
    replayed,
    revert,
    target_of,
)

from driftwatch.aws import GLOBAL_API_REGION
from driftwatch.registry import remediators

ARN = "arn:aws:iam::123456789012:policy/"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
         "Action": "sts:AssumeRole"}
    ],
}  # fmt: skip


def _doc(action: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
    }


def _role(spec: dict[str, Any], **attrs: Any) -> Any:
    base = {
        "assume_role_policy": TRUST,
        "description": "app role",
        "path": "/",
        "max_session_duration": 7200,
        "managed_policy_arns": [],
        "inline_policies": {},
        "tags": [],
    }
    return pure_target("aws_iam_role", spec, {**base, **attrs}, rid="app")


# --- aws_iam_role: pure plans ---------------------------------------------------------------


def test_role_trust_policy_is_written_as_declared_to_the_global_endpoint() -> None:
    lam = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
             "Action": "sts:AssumeRole"}
        ],
    }  # fmt: skip
    [call] = plan(_role({"assume_role_policy": json.dumps(lam)})).calls
    assert (call.service, call.operation, call.region) == (
        "iam",
        "update_assume_role_policy",
        GLOBAL_API_REGION,
    )
    assert call.params == {"RoleName": "app", "PolicyDocument": json.dumps(lam)}
    # A document declared as a mapping is sent as JSON text.
    [as_dict] = plan(_role({"assume_role_policy": lam})).calls
    assert json.loads(as_dict.params["PolicyDocument"]) == lam


def test_role_description_alone_keeps_the_live_session_duration() -> None:
    [call] = plan(_role({"description": "new"})).calls
    assert call.operation == "update_role"
    assert call.params == {"RoleName": "app", "Description": "new", "MaxSessionDuration": 7200}
    assert call.fixes == ("description",)


def test_role_description_and_duration_are_one_update_role() -> None:
    [call] = plan(_role({"description": "", "max_session_duration": 3600})).calls
    assert call.params == {"RoleName": "app", "Description": "", "MaxSessionDuration": 3600}
    assert call.fixes == ("description", "max_session_duration")
    [only] = plan(_role({"max_session_duration": 3600}, description=None)).calls
    assert only.params == {"RoleName": "app", "MaxSessionDuration": 3600}


def test_role_managed_policies_attach_then_detach() -> None:
    target = _role(
        {"managed_policy_arns": [ARN + "a", ARN + "b"]},
        managed_policy_arns=[ARN + "b", ARN + "c", ARN + "d"],
    )
    out = plan(target)
    assert [(c.operation, c.params["PolicyArn"]) for c in out.calls] == [
        ("attach_role_policy", ARN + "a"),
        ("detach_role_policy", ARN + "c"),
        ("detach_role_policy", ARN + "d"),
    ]
    assert {c.fixes for c in out.calls} == {("managed_policy_arns",)}


def test_role_inline_policies_put_and_delete_by_name() -> None:
    target = _role(
        {"inline_policies": {"keep": _doc("s3:*"), "fix": json.dumps(_doc("sqs:*")),
                             "add": _doc("sns:*")}},
        inline_policies={"keep": _doc("s3:*"), "fix": _doc("sqs:SendMessage"),
                         "extra": _doc("iam:*")},
    )  # fmt: skip
    out = plan(target)
    assert [(c.operation, c.params["PolicyName"]) for c in out.calls] == [
        ("put_role_policy", "add"),
        ("put_role_policy", "fix"),
        ("delete_role_policy", "extra"),
    ]
    put_add, put_fix, delete = out.calls
    assert json.loads(put_add.params["PolicyDocument"]) == _doc("sns:*")
    assert put_fix.params["PolicyDocument"] == json.dumps(_doc("sqs:*"))  # as declared
    assert put_add.fixes == ("inline_policies.add",)
    assert all(p.startswith("inline_policies.fix") for p in put_fix.fixes) and put_fix.fixes
    assert delete.fixes == ("inline_policies.extra",)


def test_role_tags_tag_and_untag_drifted_keys() -> None:
    target = _role(
        {"tags": {"team": "app", "cost": 7}},
        tags=[{"Key": "team", "Value": "ops"}, {"Key": "owner", "Value": "bob"}],
    )
    tag, untag = plan(target).calls
    assert (tag.operation, tag.params["Tags"]) == (
        "tag_role",
        [{"Key": "cost", "Value": "7"}, {"Key": "team", "Value": "app"}],
    )
    assert (untag.operation, untag.params["TagKeys"]) == ("untag_role", ["owner"])
    assert untag.fixes == ("tags.owner",)


def test_role_path_is_refused() -> None:
    out = plan(_role({"path": "/app/"}))
    assert out.calls == [] and "re-create it (pipeline mode)" in out.not_revertible[0].why


def test_role_delete_empties_the_role_first() -> None:
    remediator = remediators.get("aws_iam_role")()
    live = _role({}).live
    unread = remediator.delete(live)
    assert unread.calls == [] and "instance_profiles" in unread.not_revertible[0].why
    live.attrs.update(
        managed_policy_arns=[ARN + "a"], inline_policies={"q": _doc("sqs:*")},
        instance_profiles=["app-profile"],
    )  # fmt: skip
    out = checked(remediator.delete(live))
    assert [c.operation for c in out.calls] == [
        "remove_role_from_instance_profile",
        "detach_role_policy",
        "delete_role_policy",
        "delete_role",
    ]
    assert {c.region for c in out.calls} == {GLOBAL_API_REGION}
    linked = _role({}).live
    linked.listed["path"] = "/aws-service-role/ecs.amazonaws.com/"
    assert remediator.delete(linked).calls == []
    assert set(remediator.delete_reads) == {"attached", "inline", "instance_profiles"}


# --- aws_iam_policy: pure plans -------------------------------------------------------------


def _versions(n: int, default: str) -> list[dict[str, Any]]:
    return [
        {"id": f"v{i}", "default": f"v{i}" == default, "created": f"2026-01-0{i}T00:00:00+00:00"}
        for i in range(1, n + 1)
    ]


def _policy(spec: dict[str, Any], **attrs: Any) -> Any:
    base = {"policy": _doc("s3:GetObject"), "description": None, "path": "/", "tags": []}
    return pure_target(
        "aws_iam_policy", spec, {**base, **attrs}, rid="logs", listed={"arn": ARN + "logs"}
    )


def test_policy_document_is_a_new_default_version() -> None:
    declared = json.dumps(_doc("s3:*"))
    [call] = plan(_policy({"policy": declared}, versions=_versions(2, "v2"))).calls
    assert (call.operation, call.region) == ("create_policy_version", GLOBAL_API_REGION)
    assert call.params == {"PolicyArn": ARN + "logs", "PolicyDocument": declared,
                           "SetAsDefault": True}  # fmt: skip


def test_policy_at_five_versions_prunes_the_oldest_non_default_first() -> None:
    target = _policy({"policy": _doc("s3:*")}, versions=_versions(5, "v1"))
    prune, create = plan(target).calls
    assert (prune.operation, prune.params) == (
        "delete_policy_version",
        {"PolicyArn": ARN + "logs", "VersionId": "v2"},
    )
    assert "prunes v2, the oldest non-default version" in prune.note
    assert create.operation == "create_policy_version"
    assert prune.fixes == create.fixes == target.paths("policy") == ("policy.Statement",)


def test_policy_without_its_version_list_is_refused() -> None:
    out = plan(_policy({"policy": _doc("s3:*")}))
    assert out.calls == [] and "versions were not read" in out.not_revertible[0].why
    assert remediators.get("aws_iam_policy").reads == ("versions",)


def test_policy_description_and_path_are_refused_and_tags_change() -> None:
    out = plan(
        _policy(
            {"description": "new", "path": "/team/", "tags": {"team": "data"}},
            tags=[{"Key": "team", "Value": "ops"}, {"Key": "x", "Value": "1"}],
        )
    )
    assert {r.path for r in out.not_revertible} == {"description", "path"}
    assert [(c.operation, c.params) for c in out.calls] == [
        ("tag_policy", {"PolicyArn": ARN + "logs", "Tags": [{"Key": "team", "Value": "data"}]}),
        ("untag_policy", {"PolicyArn": ARN + "logs", "TagKeys": ["x"]}),
    ]


# --- aws_iam_user: pure plans ---------------------------------------------------------------


def test_user_path_groups_policies_and_tags() -> None:
    target = pure_target(
        "aws_iam_user",
        {"path": "/people/", "groups": ["a", "b"], "managed_policy_arns": [ARN + "p"],
         "tags": {"team": "ops"}},
        {"path": "/", "groups": ["b", "c"], "managed_policy_arns": [],
         "tags": [{"Key": "team", "Value": "ops"}, {"Key": "owner", "Value": "bob"}]},
        rid="ann",
    )  # fmt: skip
    out = plan(target)
    assert [(c.operation, c.params) for c in out.calls] == [
        ("update_user", {"UserName": "ann", "NewPath": "/people/"}),
        ("attach_user_policy", {"UserName": "ann", "PolicyArn": ARN + "p"}),
        ("add_user_to_group", {"UserName": "ann", "GroupName": "a"}),
        ("remove_user_from_group", {"UserName": "ann", "GroupName": "c"}),
        ("untag_user", {"UserName": "ann", "TagKeys": ["owner"]}),
    ]
    assert {c.region for c in out.calls} == {GLOBAL_API_REGION}
    assert set(out.fixes) == {c.path for c in target.changes}


# --- real round trips on the moto server ----------------------------------------------------


def test_role_round_trip(aws: Aws) -> None:
    spec, drifted = seed.role(aws, "rt-role")
    iam = aws.client("iam")
    iam.update_assume_role_policy(
        RoleName="rt-role", PolicyDocument=json.dumps(drifted["assume_role_policy"])
    )
    iam.update_role(RoleName="rt-role", Description="other", MaxSessionDuration=3600)
    iam.detach_role_policy(RoleName="rt-role", PolicyArn=spec["managed_policy_arns"][0])
    other = iam.create_policy(PolicyName="rt-other", PolicyDocument=json.dumps(_doc("ec2:*")))
    iam.attach_role_policy(RoleName="rt-role", PolicyArn=other["Policy"]["Arn"])
    iam.put_role_policy(
        RoleName="rt-role", PolicyName="queue", PolicyDocument=json.dumps(_doc("sqs:*"))
    )
    iam.put_role_policy(
        RoleName="rt-role", PolicyName="extra", PolicyDocument=json.dumps(_doc("iam:*"))
    )
    iam.tag_role(RoleName="rt-role", Tags=[{"Key": "team", "Value": "ops"},
                                           {"Key": "owner", "Value": "bob"}])  # fmt: skip
    spec.pop("path")
    out = revert(aws, "aws_iam_role", "rt-role", spec)
    assert [c.operation for c in out.calls] == [
        "update_assume_role_policy",
        "update_role",
        "attach_role_policy",
        "detach_role_policy",
        "put_role_policy",
        "delete_role_policy",
        "tag_role",
        "untag_role",
    ]


def test_role_description_round_trip_keeps_the_session_duration(aws: Aws) -> None:
    spec, _ = seed.role(aws, "rt-desc")
    aws.client("iam").update_role_description(RoleName="rt-desc", Description="other")
    declared = {k: spec[k] for k in ("description", "max_session_duration")}
    out = revert(aws, "aws_iam_role", "rt-desc", declared)
    assert [c.fixes for c in out.calls] == [("description",)]


def test_role_delete_unmanaged_on_moto(aws: Aws) -> None:
    seed.role(aws, "stray")
    iam = aws.client("iam")
    iam.create_instance_profile(InstanceProfileName="stray-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="stray-profile", RoleName="stray")
    remediator = remediators.get("aws_iam_role")()
    live = read_live(aws, "aws_iam_role", "stray", remediator.delete_reads)
    out = checked(remediator.delete(live))
    assert [c.operation for c in out.calls] == [
        "remove_role_from_instance_profile",
        "detach_role_policy",
        "detach_role_policy",
        "delete_role_policy",
        "delete_role",
    ]
    execute(aws, out)
    with pytest.raises(bex.ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName="stray")


def test_policy_round_trip_below_the_version_limit(aws: Aws) -> None:
    spec, _ = seed_iam.policy(aws, "rt-pol")
    iam = aws.client("iam")
    arn = iam.list_policies(Scope="Local")["Policies"][0]["Arn"]
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "team", "Value": "ops"}])
    iam.untag_policy(PolicyArn=arn, TagKeys=["cost"])
    out = revert(aws, "aws_iam_policy", "rt-pol", {k: spec[k] for k in ("policy", "tags")})
    assert [c.operation for c in out.calls] == ["create_policy_version", "tag_policy"]
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 3


def test_policy_round_trip_at_five_versions_prunes_the_oldest(aws: Aws) -> None:
    spec, drifted = seed_iam.policy(aws, "rt-five")
    iam = aws.client("iam")
    arn = iam.list_policies(Scope="Local")["Policies"][0]["Arn"]
    for default in (True, False, False):  # v3 (the drift, default), v4, v5
        iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=json.dumps(drifted["policy"]), SetAsDefault=default
        )
    out = revert(aws, "aws_iam_policy", "rt-five", {"policy": spec["policy"]})
    assert [(c.operation, c.params.get("VersionId")) for c in out.calls] == [
        ("delete_policy_version", "v1"),
        ("create_policy_version", None),
    ]
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v2", "v3", "v4", "v5", "v6"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v6"]


def test_policy_description_refused_on_a_real_read(aws: Aws) -> None:
    seed_iam.policy(aws, "rt-desc-pol")
    out = plan(read_target(aws, "aws_iam_policy", "rt-desc-pol", {"description": "other"}))
    assert out.calls == [] and [r.path for r in out.not_revertible] == ["description"]


def test_user_round_trip(aws: Aws) -> None:
    spec, _ = seed_iam.user(aws, "rt-user")
    iam = aws.client("iam")
    iam.tag_user(UserName="rt-user", Tags=[{"Key": "owner", "Value": "bob"}])
    iam.detach_user_policy(UserName="rt-user", PolicyArn=spec["managed_policy_arns"][0])
    iam.remove_user_from_group(GroupName="rt-user-devs", UserName="rt-user")
    iam.add_user_to_group(GroupName="rt-user-auditors", UserName="rt-user")
    out = revert(aws, "aws_iam_user", "rt-user", spec)
    assert [c.operation for c in out.calls] == [
        "attach_user_policy",
        "add_user_to_group",
        "remove_user_from_group",
        "untag_user",
    ]


def test_user_path_round_trip(aws: Aws) -> None:
    # Separate from the tags: moto keys a user's tags by its ARN, which holds the path,
    # so moving the user drops its tags there (AWS keeps them).
    seed_iam.user(aws, "rt-path")
    aws.client("iam").update_user(UserName="rt-path", NewPath="/")
    out = revert(aws, "aws_iam_user", "rt-path", {"path": "/people/"})
    assert [c.operation for c in out.calls] == ["update_user"]


# --- recorded real-AWS shapes (tests/fixtures/real_aws) ------------------------------------


@pytest.mark.parametrize(
    "rtype,untag", [("aws_iam_role", "untag_role"), ("aws_iam_policy", "untag_policy"),
                    ("aws_iam_user", "untag_user")],
)  # fmt: skip
def test_real_aws_reserved_tags_are_never_in_a_plan(rtype: str, untag: str) -> None:
    live = replayed(rtype, "tags", f"tags/{rtype}.json")
    assert any(t["Key"].startswith("aws:") for t in live.attrs["tags"])
    live.listed.setdefault("arn", ARN + live.id)
    [call] = plan(target_of(declared(rtype, live.id, {"tags": {}}), live)).calls
    assert (call.operation, call.params["TagKeys"]) == (untag, ["cost-center", "team"])
