"""aws_cloudwatch_log_group collector, in-process with moto's mock_aws: listing, defaults."""

from __future__ import annotations

import boto3
import pytest

from driftwatch.collectors.logs import LogGroup, RetentionDays
from driftwatch.models import Scope

SCOPE = Scope("a", "us-east-1", "aws_cloudwatch_log_group")


@pytest.fixture
def logs(mock_aws_env: None):
    yield boto3.client("logs", region_name="us-east-1")


def test_lists_only_the_scope_region_with_retention_and_key(logs) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    logs.create_log_group(logGroupName="/app/a", kmsKeyId=key)
    logs.put_retention_policy(logGroupName="/app/a", retentionInDays=14)
    boto3.client("logs", region_name="eu-west-1").create_log_group(logGroupName="/app/west")
    [live] = LogGroup().list_resources(logs, SCOPE)
    assert live.id == "/app/a"
    assert live.attrs == {"retention_in_days": 14, "kms_key_id": key}
    # Tagging needs the ARN without DescribeLogGroups' trailing `:*`.
    assert live.listed["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/app/a"


def test_unconfigured_group_reads_as_defaults(logs) -> None:
    logs.create_log_group(logGroupName="/aws/lambda/fn")
    c = LogGroup()
    [live] = c.list_resources(logs, SCOPE)
    for source in c.sources_for(list(c.attributes)):
        live.attrs.update(c.read(source, logs, live))
    assert live.attrs == {"retention_in_days": 0, "kms_key_id": None, "tags": {}}
    # Groups AWS services create on first use are the customer's: never excluded.
    assert not c.aws_managed(live)


def test_reads_tags(logs) -> None:
    logs.create_log_group(logGroupName="/app/t", tags={"team": "api"})
    c = LogGroup()
    [live] = c.list_resources(logs, SCOPE)
    assert c.read("tags", logs, live) == {"tags": {"team": "api"}}


def test_retention_canonical_form_and_check() -> None:
    kind = RetentionDays()
    assert kind.canonical(None, {}) == kind.canonical(0, {}) == 0
    assert kind.canonical(30, {}) == 30
    assert kind.check(None) is None and kind.check(0) is None and kind.check(3653) is None
    assert "must be one of" in (kind.check(31) or "")
    assert kind.check(True) is not None and kind.check("30") is not None


def test_sources() -> None:
    c = LogGroup()
    assert c.sources_for(["tags"]) == ["tags"]
    assert c.sources_for(["retention_in_days", "kms_key_id"]) == []
