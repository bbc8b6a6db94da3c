"""Seed SNS topics in moto, with the manifests that match them (see support/seed.py)."""

from __future__ import annotations

import json
from typing import Any

from support.env import REGION, Aws

Spec = dict[str, Any]


def topic(aws: Aws, name: str, region: str = REGION) -> tuple[Spec, Spec]:
    sns = aws.client("sns", region)
    arn = f"arn:aws:sns:{region}:123456789012:{name}"
    policy = {
        "Version": "2012-10-17",
        "Id": "alerts",
        "Statement": [
            {
                "Sid": "Publish",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                "Action": ["sns:Publish"],
                "Resource": [arn],
            },
            {
                "Sid": "Subscribe",
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
                "Action": ["sns:Subscribe"],
                "Resource": [arn],
            },
        ],
    }
    got = sns.create_topic(
        Name=name,
        Attributes={
            "DisplayName": "Ops alerts",
            "KmsMasterKeyId": "alias/aws/sns",
            "Policy": json.dumps(policy),
        },
        Tags=[{"Key": "team", "Value": "ops"}, {"Key": "cost", "Value": "42"}],
    )
    assert got["TopicArn"] == arn
    declared = {
        "display_name": "Ops alerts",
        "kms_master_key_id": "alias/aws/sns",
        # Statements swapped, principals reordered, one-element lists as strings.
        "policy": json.dumps(
            {
                "Version": "2012-10-17",
                "Id": "alerts",
                "Statement": [
                    {
                        "Sid": "Subscribe",
                        "Effect": "Allow",
                        "Principal": {"AWS": "123456789012"},
                        "Action": "sns:Subscribe",
                        "Resource": arn,
                    },
                    {
                        "Sid": "Publish",
                        "Effect": "Allow",
                        "Principal": {
                            "Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
                        },
                        "Action": "sns:Publish",
                        "Resource": arn,
                    },
                ],
            }
        ),
        "tags": {"cost": 42, "team": "ops"},
    }
    drifted = {
        "display_name": "",
        "kms_master_key_id": None,
        "policy": {**policy, "Statement": policy["Statement"][:1]},
        "tags": {"team": "ops"},
    }
    return declared, drifted
