"""Seed KMS keys in moto, with the manifest that matches each and one that drifts."""

from __future__ import annotations

import json
from typing import Any

from support.env import Aws

Spec = dict[str, Any]

ACCOUNT = "123456789012"  # moto's default account


def key(aws: Aws, alias: str, region: str = "us-east-1") -> tuple[str, Spec, Spec]:
    """A symmetric key with an alias, rotation, a two-statement policy and tags.

    Returns (key id, declared, drifted); `deletion_window_in_days` is declared but never
    drifts: KMS does not expose it for an enabled key.
    """
    kms = aws.client("kms", region)
    policy = {
        "Version": "2012-10-17",
        "Id": "key-policy",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Use",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/app"]},
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "*",
            },
        ],
    }
    key_id = kms.create_key(
        Description="orders data",
        KeyUsage="ENCRYPT_DECRYPT",
        Policy=json.dumps(policy),
        Tags=[{"TagKey": "team", "TagValue": "orders"}, {"TagKey": "cost", "TagValue": "9"}],
    )["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    kms.enable_key_rotation(KeyId=key_id)
    declared = {
        "description": "orders data",
        "key_usage": "ENCRYPT_DECRYPT",
        "deletion_window_in_days": 30,
        "enable_key_rotation": True,
        # Statement order swapped, a bare account id, one-element lists as strings.
        "policy": {
            "Version": "2012-10-17",
            "Id": "key-policy",
            "Statement": [
                {
                    "Sid": "Use",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"},
                    "Action": ["kms:Decrypt", "kms:Encrypt"],
                    "Resource": ["*"],
                },
                {
                    "Sid": "Root",
                    "Effect": "Allow",
                    "Principal": {"AWS": ACCOUNT},
                    "Action": ["kms:*"],
                    "Resource": "*",
                },
            ],
        },
        "tags": {"cost": 9, "team": "orders"},
    }
    drifted = {
        "description": "something else",
        "key_usage": "SIGN_VERIFY",
        "enable_key_rotation": False,
        "policy": json.dumps({**policy, "Statement": policy["Statement"][:1]}),
        "tags": {"team": "payments", "cost": "9"},
    }
    return key_id, declared, drifted


def bare_key(aws: Aws, alias: str | None = None, region: str = "us-east-1") -> str:
    """A key created with no parameters at all, optionally with an alias; returns its id."""
    kms = aws.client("kms", region)
    key_id = str(kms.create_key()["KeyMetadata"]["KeyId"])
    if alias:
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id
