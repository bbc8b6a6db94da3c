"""aws_security_group and aws_instance collectors, in-process with moto's mock_aws."""

from __future__ import annotations

import boto3
import pytest

from driftwatch.collectors.ec2 import Instance, SecurityGroup, terraform_rules
from driftwatch.models import DeclaredResource, Scope


@pytest.fixture
def ec2(mock_aws_env: None):
    yield boto3.client("ec2", region_name="us-east-1")


def test_terraform_rules_cover_every_source() -> None:
    perms = [
        {
            "IpProtocol": "tcp",
            "FromPort": 1,
            "ToPort": 2,
            "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "d"}],
            "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            "UserIdGroupPairs": [{"GroupId": "sg-1", "UserId": "1"}],
            "PrefixListIds": [{"PrefixListId": "pl-1"}],
        }
    ]
    rules = terraform_rules(perms)
    assert [sorted(k for k in r if k.endswith(("blocks", "groups", "ids"))) for r in rules] == [
        ["cidr_blocks"],
        ["ipv6_cidr_blocks"],
        ["security_groups"],
        ["prefix_list_ids"],
    ]
    assert rules[0]["description"] == "d"


def test_default_groups_are_aws_managed(ec2) -> None:
    c = SecurityGroup()
    groups = c.list_resources(ec2, Scope("a", "us-east-1", "aws_security_group"))
    assert groups and all(c.aws_managed(g) for g in groups)


def test_match_by_id_name_and_vpc(ec2) -> None:
    vpcs = [ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16")["Vpc"]["VpcId"] for i in (1, 2)]
    ids = [
        ec2.create_security_group(GroupName="g", Description="d", VpcId=v)["GroupId"] for v in vpcs
    ]
    c = SecurityGroup()
    live = c.list_resources(ec2, Scope("a", "us-east-1", "aws_security_group"))

    def decl(rid: str, **spec: str) -> DeclaredResource:
        return DeclaredResource("aws_security_group", rid, "a", "us-east-1", spec, "m.yaml")

    assert len(c.match(decl("g"), live)) == 2
    assert [x.id for x in c.match(decl("g", vpc_id=vpcs[1]), live)] == [ids[1]]
    assert [x.id for x in c.match(decl(ids[0]), live)] == [ids[0]]


def test_terminated_instances_are_not_live(ec2) -> None:
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = [
        i["InstanceId"] for i in ec2.run_instances(ImageId=ami, MinCount=2, MaxCount=2)["Instances"]
    ]
    ec2.terminate_instances(InstanceIds=ids[:1])
    live = Instance().list_resources(ec2, Scope("a", "us-east-1", "aws_instance"))
    assert [x.id for x in live] == ids[1:]
    assert live[0].names == ()  # no Name tag: matched by id only
