"""Seed one fully configured resource of each type in moto, with the manifest that matches it.

Each seeder returns (declared, drifted): `declared` matches the live resource exactly
but written differently where canonical forms allow (order, string vs list, split
rules); `drifted` differs in every attribute.
"""

from __future__ import annotations

import json
from typing import Any

from driftwatch.demo import TRUST
from support.env import Aws

Spec = dict[str, Any]


def bucket(aws: Aws, name: str, region: str = "us-east-1", **creds: Any) -> tuple[Spec, Spec]:
    s3 = aws.client("s3", region, **creds)
    kw = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=name, **kw)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": "alias/logs",
                    }
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": False,
        },
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{name}/*"],
            },
            {
                "Sid": "List",
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{name}"],
            },
        ],
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    s3.put_bucket_tagging(
        Bucket=name,
        Tagging={"TagSet": [{"Key": "team", "Value": "platform"}, {"Key": "cost", "Value": "42"}]},
    )
    declared = {
        "versioning": "Enabled",
        "server_side_encryption": {"sse_algorithm": "aws:kms", "kms_master_key_id": "alias/logs"},
        "public_access_block": {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
        },
        # Statement order swapped, one-element lists as strings, a bare account id.
        "policy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "List",
                    "Effect": "Allow",
                    "Principal": {"AWS": "123456789012"},
                    "Action": "s3:ListBucket",
                    "Resource": f"arn:aws:s3:::{name}",
                },
                {
                    "Sid": "Read",
                    "Effect": "Allow",
                    "Principal": {"AWS": "123456789012"},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{name}/*",
                },
            ],
        },
        "tags": {"cost": 42, "team": "platform"},
    }
    drifted = {
        "versioning": "Suspended",
        "server_side_encryption": {"sse_algorithm": "AES256"},
        "public_access_block": {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
        "policy": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Read",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{name}/*",
                    }
                ],
            }
        ),
        "tags": {"team": "data", "cost": "42"},
    }
    return declared, drifted


def security_group(
    aws: Aws, name: str, region: str = "us-east-1", vpc_id: str | None = None
) -> tuple[str, Spec, Spec]:
    ec2 = aws.client("ec2", region)
    vpc_id = (
        vpc_id
        or ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0][
            "VpcId"
        ]
    )
    sg = ec2.create_security_group(
        GroupName=name,
        Description=f"{name} tier",
        VpcId=vpc_id,
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "team", "Value": "web"}]}
        ],
    )
    gid = sg["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [
                    {"CidrIp": "10.0.0.0/8"},
                    {"CidrIp": "192.168.0.0/16", "Description": "office"},
                ],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "UserIdGroupPairs": [{"GroupId": gid}],
            },
        ],
    )
    ec2.revoke_security_group_egress(
        GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    ec2.authorize_security_group_egress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "IpRanges": [{"CidrIp": "10.1.0.0/16"}],
            }
        ],
    )
    declared = {
        "description": f"{name} tier",
        "vpc_id": vpc_id,
        # One rule per CIDR, reversed order, protocol as number, self-reference via `self`.
        "ingress": [
            {"protocol": "tcp", "from_port": 22, "to_port": 22, "self": True},
            {
                "protocol": "6",
                "from_port": 443,
                "to_port": 443,
                "cidr_blocks": ["192.168.0.0/16"],
                "description": "office",
            },
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["10.0.0.0/8"]},
        ],
        "egress": [
            {"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": ["10.1.0.0/16"]}
        ],
        "tags": {"team": "web"},
    }
    drifted = {
        "description": "something else",
        "vpc_id": "vpc-00000000000000000",
        "ingress": [
            {
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"],
            }
        ],
        "egress": [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
        "tags": {"team": "api"},
    }
    return gid, declared, drifted


def role(aws: Aws, name: str) -> tuple[Spec, Spec]:
    iam = aws.client("iam")
    trust = TRUST
    iam.create_role(
        RoleName=name,
        Path="/app/",
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="app role",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "app"}],
    )
    arns = [
        iam.create_policy(
            PolicyName=f"{name}-{p}",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}],
                }
            ),
        )["Policy"]["Arn"]
        for p in ("a", "b")
    ]
    for arn in arns:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    inline = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
                "Resource": "*",
            }
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="queue", PolicyDocument=json.dumps(inline))
    declared = {
        "assume_role_policy": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": {
                    "Effect": "Allow",
                    "Principal": {"Service": ["ec2.amazonaws.com"]},
                    "Action": ["sts:AssumeRole"],
                },
            }
        ),
        "description": "app role",
        "path": "/app/",
        "max_session_duration": 7200,
        "managed_policy_arns": list(reversed(arns)),
        "inline_policies": {
            "queue": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["sqs:ReceiveMessage", "sqs:SendMessage"],
                        "Resource": "*",
                    }
                ],
            }
        },
        "tags": {"team": "app"},
    }
    drifted = {
        "assume_role_policy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        "description": "other",
        "path": "/",
        "max_session_duration": 3600,
        "managed_policy_arns": arns[:1],
        "inline_policies": {},
        "tags": {"team": "ops"},
    }
    return declared, drifted


def instance(aws: Aws, name: str, region: str = "us-east-1") -> tuple[str, Spec, Spec]:
    ec2 = aws.client("ec2", region)
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    subnets = ec2.describe_subnets()["Subnets"]
    sgs = [
        ec2.create_security_group(GroupName=f"{name}-{i}", Description="x")["GroupId"]
        for i in range(3)
    ]
    inst = ec2.run_instances(
        ImageId=images[0]["ImageId"],
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=subnets[0]["SubnetId"],
        SecurityGroupIds=sgs[:2],
        Monitoring={"Enabled": True},
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": "Name", "Value": name}, {"Key": "env", "Value": "prod"}],
            }
        ],
    )["Instances"][0]
    declared = {
        "instance_type": "t3.micro",
        "ami": images[0]["ImageId"],
        "subnet_id": subnets[0]["SubnetId"],
        "vpc_security_group_ids": [sgs[1], sgs[0], sgs[1]],
        "monitoring": True,
        "tags": {"Name": name, "env": "prod"},
    }
    drifted = {
        "instance_type": "t3.large",
        "ami": images[1]["ImageId"],
        "subnet_id": subnets[1]["SubnetId"],
        "vpc_security_group_ids": [sgs[2]],
        "monitoring": False,
        "tags": {"Name": name, "env": "dev"},
    }
    return inst["InstanceId"], declared, drifted
