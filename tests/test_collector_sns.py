"""aws_sns_topic collector, in-process with moto's mock_aws: listing, defaults, sources."""

from __future__ import annotations

import boto3
import botocore.exceptions as bex
import pytest

from driftwatch.collectors.base import is_code
from driftwatch.collectors.sns import SnsTopic
from driftwatch.models import Scope

SCOPE = Scope("a", "us-east-1", "aws_sns_topic")


@pytest.fixture
def sns(mock_aws_env: None):
    yield boto3.client("sns", region_name="us-east-1")


def test_lists_names_and_only_the_scope_region(sns) -> None:
    arn = sns.create_topic(Name="alerts")["TopicArn"]
    sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})
    boto3.client("sns", region_name="eu-west-1").create_topic(Name="west")
    got = SnsTopic().list_resources(sns, SCOPE)
    assert sorted(t.id for t in got) == ["alerts", "orders.fifo"]
    assert next(t for t in got if t.id == "alerts").listed["arn"] == arn


def test_unconfigured_topic_reads_as_defaults(sns) -> None:
    arn = sns.create_topic(Name="bare")["TopicArn"]
    c = SnsTopic()
    [live] = c.list_resources(sns, SCOPE)
    for source in c.sources_for(list(c.attributes)):
        live.attrs.update(c.read(source, sns, live))
    got = c.canonical(live.attrs, {})
    policy = got.pop("policy")
    assert got == {"display_name": None, "kms_master_key_id": None, "tags": {}}
    # AWS's default topic policy: the owner account may manage and publish.
    assert [s["Resource"] for s in policy["Statement"]] == [[arn]]
    assert not c.aws_managed(live)


def test_reads_display_name_key_and_tags(sns) -> None:
    sns.create_topic(
        Name="t",
        Attributes={"DisplayName": "Ops", "KmsMasterKeyId": "alias/aws/sns"},
        Tags=[{"Key": "team", "Value": "ops"}],
    )
    c = SnsTopic()
    [live] = c.list_resources(sns, SCOPE)
    got = c.canonical({**c.read("attributes", sns, live), **c.read("tags", sns, live)}, {})
    assert (got["display_name"], got["kms_master_key_id"], got["tags"]) == (
        "Ops",
        "alias/aws/sns",
        {"team": "ops"},
    )


def test_a_deleted_topic_is_not_found(sns) -> None:
    arn = sns.create_topic(Name="gone")["TopicArn"]
    c = SnsTopic()
    [live] = c.list_resources(sns, SCOPE)
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(bex.ClientError) as exc:
        c.read("attributes", sns, live)
    assert is_code(exc.value, *c.not_found_codes)


def test_sources() -> None:
    c = SnsTopic()
    assert c.sources_for(["tags"]) == ["tags"]
    assert c.sources_for(["display_name", "kms_master_key_id", "policy"]) == ["attributes"]
    assert c.sources_for(list(c.attributes)) == ["attributes", "tags"]
