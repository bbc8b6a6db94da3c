"""aws_cloudwatch_log_group reverts: retention, KMS key, tags; moto round trips.

moto (5.2) implements neither AssociateKmsKey nor DisassociateKmsKey: the key calls are
tested as planned data only.
"""

from __future__ import annotations

from support import seed_logs
from support.env import Aws
from support.revert import drifted_paths, plan, pure_target, revert

T = "aws_cloudwatch_log_group"
ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/app/api"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _pure(spec: dict, live: dict):
    return plan(pure_target(T, spec, live, rid="/app/api", listed={"arn": ARN}))


def test_retention_put_or_deleted_for_never_expire() -> None:
    put = _pure({"retention_in_days": 30}, {"retention_in_days": 0})
    assert [(c.operation, c.params, c.fixes) for c in put.calls] == [
        (
            "put_retention_policy",
            {"logGroupName": "/app/api", "retentionInDays": 30},
            ("retention_in_days",),
        )
    ]
    for never in (0, None):
        got = _pure({"retention_in_days": never}, {"retention_in_days": 7})
        assert [(c.operation, c.params, c.note) for c in got.calls] == [
            (
                "delete_retention_policy",
                {"logGroupName": "/app/api"},
                "log events then never expire",
            )
        ]


def test_kms_key_associated_or_disassociated_first() -> None:
    got = _pure(
        {"kms_key_id": KEY, "retention_in_days": 1}, {"kms_key_id": None, "retention_in_days": 3}
    )
    assert [(c.operation, c.params) for c in got.calls] == [
        ("associate_kms_key", {"logGroupName": "/app/api", "kmsKeyId": KEY}),
        ("put_retention_policy", {"logGroupName": "/app/api", "retentionInDays": 1}),
    ]
    off = _pure({"kms_key_id": ""}, {"kms_key_id": KEY})
    assert [(c.operation, c.params) for c in off.calls] == [
        ("disassociate_kms_key", {"logGroupName": "/app/api"})
    ]
    assert "keep the key" in off.calls[0].note


def test_tags_by_arn() -> None:
    got = _pure({"tags": {"team": "api", "cost": 42}}, {"tags": {"team": "web", "old": "x"}})
    assert [(c.operation, c.params, c.fixes) for c in got.calls] == [
        ("untag_resource", {"resourceArn": ARN, "tagKeys": ["old"]}, ("tags.old",)),
        (
            "tag_resource",
            {"resourceArn": ARN, "tags": {"cost": "42", "team": "api"}},
            ("tags.cost", "tags.team"),
        ),
    ]


def test_round_trip_puts_retention_and_tags_back(aws: Aws) -> None:
    spec, _ = seed_logs.log_group(aws, "/app/api")
    spec.pop("kms_key_id")  # moto cannot run Associate/DisassociateKmsKey
    logs = aws.client("logs")
    logs.delete_retention_policy(logGroupName="/app/api")
    logs.untag_log_group(logGroupName="/app/api", tags=["cost"])
    logs.tag_log_group(logGroupName="/app/api", tags={"team": "web", "new": "1"})
    assert drifted_paths(aws, T, "/app/api", spec) == [
        "retention_in_days",
        "tags.cost",
        "tags.new",
        "tags.team",
    ]
    done = revert(aws, T, "/app/api", spec)
    assert [c.operation for c in done.calls] == [
        "put_retention_policy",
        "untag_resource",
        "tag_resource",
    ]
    assert drifted_paths(aws, T, "/app/api", spec) == []


def test_round_trip_to_never_expire(aws: Aws) -> None:
    seed_logs.log_group(aws, "/app/api")
    spec = {"retention_in_days": 0}
    assert drifted_paths(aws, T, "/app/api", spec) == ["retention_in_days"]
    revert(aws, T, "/app/api", spec)
    assert drifted_paths(aws, T, "/app/api", spec) == []
