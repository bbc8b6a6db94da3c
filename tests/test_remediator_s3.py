"""S3 bucket reverts, planned as pure data (the end-to-end run is tests/test_remediation_e2e.py)."""

from __future__ import annotations

from typing import Any

from driftwatch.models import Change, DeclaredResource, LiveResource
from driftwatch.remediators.base import Target
from driftwatch.remediators.s3 import S3BucketRemediator


def target(want: dict[str, Any], have: dict[str, Any], raw: dict[str, Any] | None = None) -> Target:
    declared = DeclaredResource("aws_s3_bucket", "logs", "default", "us-east-1", want, "m.yaml")
    live = LiveResource("aws_s3_bucket", "logs", "default", "us-east-1", attrs=raw or {})
    changes = tuple(Change(k, want[k], have.get(k)) for k in want if want[k] != have.get(k))
    return Target(declared, live, want, have, changes)


def ops(t: Target) -> list[str]:
    return [c.operation for c in S3BucketRemediator().plan(t).calls]


def test_public_access_is_blocked_before_anything_else() -> None:
    pab = {"block_public_acls": True}
    t = target(
        {"tags": {"a": "1"}, "public_access_block": pab, "versioning": "Enabled"},
        {"tags": {}, "public_access_block": {}, "versioning": "Suspended"},
    )
    assert ops(t) == ["put_public_access_block", "put_bucket_versioning", "put_bucket_tagging"]
    call = S3BucketRemediator().plan(t).calls[0]
    assert call.params["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": False,
        "IgnorePublicAcls": False,
        "RestrictPublicBuckets": False,
    }


def test_only_drifted_attributes_are_touched() -> None:
    t = target({"versioning": "Enabled", "tags": {"a": "1"}}, {"versioning": "Enabled", "tags": {}})
    assert ops(t) == ["put_bucket_tagging"]


def test_absent_means_delete() -> None:
    t = target(
        {"policy": None, "server_side_encryption": None, "tags": {}},
        {
            "policy": {"Statement": []},
            "server_side_encryption": {"sse_algorithm": "AES256"},
            "tags": {"a": "1"},
        },
    )
    assert ops(t) == ["delete_bucket_policy", "delete_bucket_encryption", "delete_bucket_tagging"]


def test_versioning_cannot_be_disabled_again() -> None:
    plan = S3BucketRemediator().plan(target({"versioning": "Disabled"}, {"versioning": "Enabled"}))
    assert plan.calls == []
    assert plan.not_revertible[0].path == "versioning"
    assert "declare versioning: Suspended" in plan.not_revertible[0].why


def test_aws_reserved_tags_make_tags_not_revertible() -> None:
    raw = {
        "tags": [{"Key": "aws:cloudformation:stack-name", "Value": "s"}, {"Key": "a", "Value": "2"}]
    }
    plan = S3BucketRemediator().plan(target({"tags": {"a": "1"}}, {"tags": {"a": "2"}}, raw))
    assert plan.calls == []
    assert "aws:cloudformation:stack-name" in plan.not_revertible[0].why


def test_policy_is_sent_as_declared_text() -> None:
    doc = '{"Version": "2012-10-17", "Statement": []}'
    plan = S3BucketRemediator().plan(target({"policy": doc}, {"policy": None}))
    assert plan.calls[0].params == {"Bucket": "logs", "Policy": doc}
    assert plan.calls[0].fixes == ("policy",)
