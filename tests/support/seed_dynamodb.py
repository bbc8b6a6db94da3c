"""Seed DynamoDB tables in moto, with the manifest that matches each and one that drifts."""

from __future__ import annotations

from typing import Any

from support.env import Aws

Spec = dict[str, Any]


def table(aws: Aws, name: str, region: str = "us-east-1") -> tuple[Spec, Spec]:
    """A provisioned table with a sort key, a stream, PITR and tags: (declared, drifted)."""
    ddb = aws.client("dynamodb", region)
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        Tags=[{"Key": "team", "Value": "orders"}, {"Key": "cost", "Value": "7"}],
    )
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    declared = {
        "billing_mode": "PROVISIONED",
        "hash_key": "pk",
        "range_key": "sk",
        # Reversed order; a tag value as a YAML number.
        "attribute": [{"name": "sk", "type": "N"}, {"name": "pk", "type": "S"}],
        "read_capacity": 5,
        "write_capacity": 3,
        "point_in_time_recovery": True,
        "stream_enabled": True,
        "tags": {"cost": 7, "team": "orders"},
    }
    drifted = {
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": "id",
        "range_key": None,
        "attribute": [{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}],
        "read_capacity": 10,
        "write_capacity": 10,
        "point_in_time_recovery": False,
        "stream_enabled": False,
        "tags": {"team": "billing", "cost": "7"},
    }
    return declared, drifted


def bare_table(aws: Aws, name: str, region: str = "us-east-1") -> None:
    """An on-demand table with a partition key only and nothing else configured."""
    aws.client("dynamodb", region).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
