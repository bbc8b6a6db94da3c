"""aws_iam_role collector, in-process with moto's mock_aws."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from driftwatch.collectors.iam import IamRole
from driftwatch.models import Scope

SCOPE = Scope("a", "global", "aws_iam_role")


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
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
