"""IAM collectors (role, policy, user), in-process with moto's mock_aws."""

from __future__ import annotations

import json
from collections import Counter

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.iam.models import AWSManagedPolicy, iam_backends

from driftwatch.collectors.base import is_code
from driftwatch.collectors.iam import IamPolicy, IamRole, IamUser
from driftwatch.models import Scope
from driftwatch.schema import canonical_policy

SCOPE = Scope("a", "global", "aws_iam_role")


@pytest.fixture
def iam(mock_aws_env: None):
    yield boto3.client("iam", region_name="us-east-1")


def test_listing_feeds_listed_attributes_without_detail_calls(iam) -> None:
    doc = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    iam.create_role(
        RoleName="r", AssumeRolePolicyDocument=json.dumps(doc), Path="/x/", MaxSessionDuration=7200
    )
    [live] = IamRole().list_resources(iam, SCOPE)
    assert live.attrs["path"] == "/x/" and live.attrs["max_session_duration"] == 7200
    assert IamRole().sources_for(["assume_role_policy", "path", "description"]) == []


def test_aws_created_roles_are_excluded(iam) -> None:
    iam.create_role(
        RoleName="AWSServiceRoleForX",
        Path="/aws-service-role/x.amazonaws.com/",
        AssumeRolePolicyDocument="{}",
    )
    iam.create_role(
        RoleName="AWSReservedSSO_x",
        Path="/aws-reserved/sso.amazonaws.com/",
        AssumeRolePolicyDocument="{}",
    )
    iam.create_role(RoleName="mine", AssumeRolePolicyDocument="{}")
    c = IamRole()
    assert [x.id for x in c.list_resources(iam, SCOPE) if not c.aws_managed(x)] == ["mine"]


def test_detail_reads(iam) -> None:
    iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}", Tags=[{"Key": "k", "Value": "v"}])
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps(doc))
    c = IamRole()
    [live] = c.list_resources(iam, SCOPE)
    assert c.read("tags", iam, live) == {"tags": [{"Key": "k", "Value": "v"}]}
    assert c.read("inline", iam, live) == {"inline_policies": {"p": doc}}
    assert c.read("attached", iam, live) == {"managed_policy_arns": []}


DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}
POLICY_SCOPE = Scope("a", "global", "aws_iam_policy")
USER_SCOPE = Scope("a", "global", "aws_iam_user")


def counted(client) -> Counter[str]:
    """Count the API calls the client makes from now on, by operation."""
    calls: Counter[str] = Counter()
    client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


def read_all(collector, client, live, attrs: list[str]) -> dict:
    out: dict = {}
    for source in collector.sources_for(attrs):
        out.update(collector.read(source, client, live))
    return out


def add_aws_managed_policy(name: str) -> None:
    """An AWS-managed policy in moto's backend, without loading all of them (slow)."""
    backend = iam_backends[ACCOUNT_ID]["aws"]
    data = {
        "DefaultVersionId": "v1",
        "Path": "/",
        "Document": DOC,
        "CreateDate": "2020-01-01T00:00:00+00:00",
        "UpdateDate": "2020-01-01T00:00:00+00:00",
    }
    policy = AWSManagedPolicy.from_data(name, ACCOUNT_ID, "us-east-1", data)
    backend.managed_policies[policy.arn] = policy


def test_policy_listing_is_customer_managed_only(iam) -> None:
    add_aws_managed_policy("ReadOnlyAccess")
    iam.create_policy(PolicyName="mine", Path="/team/", PolicyDocument=json.dumps(DOC))
    assert len(iam.list_policies(Scope="AWS")["Policies"]) == 1
    c = IamPolicy()
    [live] = c.list_resources(iam, POLICY_SCOPE)
    assert (live.id, live.attrs, c.aws_managed(live)) == ("mine", {"path": "/team/"}, False)
    assert live.listed == {
        "arn": "arn:aws:iam::123456789012:policy/team/mine",
        "default_version": "v1",
    }
    assert c.sources_for(["path"]) == []


def test_unconfigured_policy_reads_as_defaults(iam) -> None:
    iam.create_policy(PolicyName="bare", PolicyDocument=json.dumps(DOC))
    c = IamPolicy()
    [live] = c.list_resources(iam, POLICY_SCOPE)
    got = read_all(c, iam, live, list(c.attributes))
    assert c.canonical(got, {}) == {
        "policy": canonical_policy(DOC),
        "description": None,
        "tags": {},
    }


def test_policy_detail_sources_cost_one_call_each(iam) -> None:
    iam.create_policy(
        PolicyName="p",
        Description="reads",
        PolicyDocument=json.dumps(DOC),
        Tags=[{"Key": "team", "Value": "data"}],
    )
    c = IamPolicy()
    [live] = c.list_resources(iam, POLICY_SCOPE)
    assert c.sources_for(["tags"]) == ["details"]
    assert c.sources_for(["description", "tags", "path"]) == ["details"]
    assert c.sources_for(list(c.attributes)) == ["details", "document"]
    calls = counted(iam)
    assert c.read("details", iam, live) == {
        "description": "reads",
        "tags": [{"Key": "team", "Value": "data"}],
    }
    assert dict(calls) == {"GetPolicy": 1}
    assert c.read("document", iam, live) == {"policy": DOC}
    assert dict(calls) == {"GetPolicy": 1, "GetPolicyVersion": 1}


def test_policy_document_is_the_default_version(iam) -> None:
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    newer = {**DOC, "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(newer), SetAsDefault=True)
    c = IamPolicy()
    [live] = c.list_resources(iam, POLICY_SCOPE)
    assert live.listed["default_version"] == "v2"
    assert c.read("document", iam, live) == {"policy": newer}


def test_policy_document_follows_a_default_version_replaced_after_listing(iam) -> None:
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    c = IamPolicy()
    [live] = c.list_resources(iam, POLICY_SCOPE)
    newer = {**DOC, "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(newer), SetAsDefault=True)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    assert c.read("document", iam, live) == {"policy": newer}


def test_policy_deleted_after_listing_is_not_found(iam) -> None:
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    c = IamPolicy()
    [live] = c.list_resources(iam, POLICY_SCOPE)
    iam.delete_policy(PolicyArn=arn)
    for source in ("document", "details"):
        with pytest.raises(ClientError) as err:
            c.read(source, iam, live)
        assert is_code(err.value, *c.not_found_codes)


def test_user_listing_and_defaults(iam) -> None:
    iam.create_user(UserName="bare", Path="/people/")
    c = IamUser()
    [live] = c.list_resources(iam, USER_SCOPE)
    assert (live.id, live.attrs, c.aws_managed(live)) == ("bare", {"path": "/people/"}, False)
    assert c.sources_for(["path"]) == []
    got = read_all(c, iam, live, list(c.attributes))
    assert c.canonical(got, {}) == {"tags": {}, "managed_policy_arns": [], "groups": []}


def test_user_detail_sources_cost_one_call_each(iam) -> None:
    iam.create_user(UserName="u", Tags=[{"Key": "team", "Value": "ops"}])
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="u", PolicyArn=arn)
    for g in ("admins", "devs"):
        iam.create_group(GroupName=g)
        iam.add_user_to_group(GroupName=g, UserName="u")
    c = IamUser()
    [live] = c.list_resources(iam, USER_SCOPE)
    assert c.sources_for(["tags"]) == ["tags"]
    assert c.sources_for(list(c.attributes)) == ["attached", "groups", "tags"]
    calls = counted(iam)
    assert c.read("tags", iam, live) == {"tags": [{"Key": "team", "Value": "ops"}]}
    assert c.read("attached", iam, live) == {"managed_policy_arns": [arn]}
    assert sorted(c.read("groups", iam, live)["groups"]) == ["admins", "devs"]
    assert dict(calls) == {"ListUserTags": 1, "ListAttachedUserPolicies": 1, "ListGroupsForUser": 1}
