"""Seed CloudWatch Logs log groups in moto, with matching manifests (see support/seed.py)."""

from __future__ import annotations

from typing import Any

from support.env import REGION, Aws

Spec = dict[str, Any]


def log_group(aws: Aws, name: str, region: str = REGION) -> tuple[Spec, Spec]:
    logs = aws.client("logs", region)
    key = f"arn:aws:kms:{region}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    logs.create_log_group(logGroupName=name, kmsKeyId=key, tags={"team": "api", "cost": "42"})
    logs.put_retention_policy(logGroupName=name, retentionInDays=30)
    declared = {"retention_in_days": 30, "kms_key_id": key, "tags": {"cost": 42, "team": "api"}}
    drifted = {"retention_in_days": 0, "kms_key_id": None, "tags": {"team": "web", "cost": "42"}}
    return declared, drifted
