"""Seed IAM policies and users in moto, each with the manifest that matches it.

Each seeder returns (declared, drifted) like tests/support/seed.py: `declared` matches
the live resource but is written differently where canonical forms allow; `drifted`
differs in every attribute.
"""

from __future__ import annotations

import json
from typing import Any

from support.env import Aws

Spec = dict[str, Any]

ACCOUNT = "123456789012"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def policy(aws: Aws, name: str) -> tuple[Spec, Spec]:
    """A policy whose default is its second version; the first version is the drifted one."""
    iam = aws.client("iam")
    first = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    arn = iam.create_policy(
        PolicyName=name,
        Path="/team/",
        Description="read the logs",
        PolicyDocument=json.dumps(first),
        Tags=[{"Key": "team", "Value": "data"}, {"Key": "cost", "Value": "7"}],
    )["Policy"]["Arn"]
    current = _doc(
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::acme-logs", "arn:aws:s3:::acme-logs/*"],
        },
        {
            "Sid": "Cross",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": ["*"],
            "Condition": {"StringEquals": {"aws:PrincipalAccount": [ACCOUNT]}},
        },
    )
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(current), SetAsDefault=True)
    declared = {
        # Statements swapped, one-element lists as strings, actions reordered, JSON text.
        "policy": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Cross",
                        "Effect": "Allow",
                        "Action": "sqs:SendMessage",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
                    },
                    {
                        "Sid": "Read",
                        "Effect": "Allow",
                        "Action": ["s3:ListBucket", "s3:GetObject"],
                        "Resource": ["arn:aws:s3:::acme-logs/*", "arn:aws:s3:::acme-logs"],
                    },
                ],
            }
        ),
        "description": "read the logs",
        "path": "/team/",
        "tags": {"cost": 7, "team": "data"},
    }
    drifted = {
        "policy": first,
        "description": "write the logs",
        "path": "/",
        "tags": {"team": "ops", "cost": "7"},
    }
    return declared, drifted


def user(aws: Aws, name: str) -> tuple[Spec, Spec]:
    """A user with a path, tags, two attached managed policies and two groups."""
    iam = aws.client("iam")
    iam.create_user(UserName=name, Path="/people/", Tags=[{"Key": "team", "Value": "ops"}])
    arns = [
        iam.create_policy(
            PolicyName=f"{name}-{p}",
            PolicyDocument=json.dumps(
                _doc({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"})
            ),
        )["Policy"]["Arn"]
        for p in ("a", "b")
    ]
    for arn in arns:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    for group in ("admins", "devs", "auditors"):
        iam.create_group(GroupName=f"{name}-{group}")
    for group in ("admins", "devs"):
        iam.add_user_to_group(GroupName=f"{name}-{group}", UserName=name)
    declared = {
        "path": "/people/",
        "tags": {"team": "ops"},
        # Reversed, with a duplicate: both are sets.
        "managed_policy_arns": [arns[1], arns[0], arns[1]],
        "groups": [f"{name}-devs", f"{name}-admins"],
    }
    drifted = {
        "path": "/",
        "tags": {"team": "ops", "owner": "bob"},
        "managed_policy_arns": arns[:1],
        "groups": [f"{name}-admins", f"{name}-auditors"],
    }
    return declared, drifted
