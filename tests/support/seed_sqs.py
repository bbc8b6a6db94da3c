"""Seed SQS queues in moto, with the manifests that match them (see support/seed.py)."""

from __future__ import annotations

import json
from typing import Any

from support.env import REGION, Aws

Spec = dict[str, Any]


def queue_arn(aws: Aws, url: str, region: str = REGION) -> str:
    attrs = aws.client("sqs", region).get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"]
    )
    return str(attrs["Attributes"]["QueueArn"])


def queue(aws: Aws, name: str, region: str = REGION) -> tuple[Spec, Spec]:
    """A standard queue with every attribute set, and a dead-letter queue `<name>-dlq`."""
    sqs = aws.client("sqs", region)
    dlq_arn = queue_arn(aws, sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"], region)
    arn = dlq_arn.removesuffix("-dlq")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FromTopic",
                "Effect": "Allow",
                "Principal": {"Service": ["sns.amazonaws.com"]},
                "Action": ["sqs:SendMessage"],
                "Resource": [arn],
            },
            {
                "Sid": "Consumer",
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                "Resource": [arn],
            },
        ],
    }
    sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "120",
            "MessageRetentionPeriod": "1209600",
            "DelaySeconds": "5",
            "MaximumMessageSize": "65536",
            "KmsMasterKeyId": "alias/queues",
            "Policy": json.dumps(policy),
            # maxReceiveCount as a string, as the console and many tools write it.
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
        tags={"team": "orders", "cost": "42"},
    )
    declared = {
        "visibility_timeout_seconds": 120,
        "message_retention_seconds": 1209600,
        "delay_seconds": 5,
        "max_message_size": 65536,
        "fifo_queue": False,
        "kms_master_key_id": "alias/queues",
        # Statements swapped, one-element lists as strings, a bare account id.
        "policy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Consumer",
                    "Effect": "Allow",
                    "Principal": {"AWS": "123456789012"},
                    "Action": ["sqs:DeleteMessage", "sqs:ReceiveMessage"],
                    "Resource": arn,
                },
                {
                    "Sid": "FromTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                },
            ],
        },
        # Keys in another order, the count as a string where SQS may return a number.
        "redrive_policy": json.dumps({"maxReceiveCount": "5", "deadLetterTargetArn": dlq_arn}),
        "tags": {"cost": 42, "team": "orders"},
    }
    drifted = {
        "visibility_timeout_seconds": 30,
        "message_retention_seconds": 345600,
        "delay_seconds": 0,
        "max_message_size": 262144,
        "fifo_queue": True,
        "kms_master_key_id": None,
        "policy": None,
        "redrive_policy": {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3},
        "tags": {"team": "billing", "cost": "42"},
    }
    return declared, drifted


def fifo_queue(aws: Aws, name: str, region: str = REGION) -> tuple[Spec, Spec]:
    """A FIFO queue (`name` must end in `.fifo`) left at its defaults but for tags."""
    aws.client("sqs", region).create_queue(
        QueueName=name, Attributes={"FifoQueue": "true"}, tags={"team": "ledger"}
    )
    declared = {
        "fifo_queue": True,
        "redrive_policy": "",
        "policy": None,
        "tags": {"team": "ledger"},
    }
    drifted = {"fifo_queue": False, "tags": {}}
    return declared, drifted
