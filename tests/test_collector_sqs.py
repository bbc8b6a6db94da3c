"""aws_sqs_queue collector, in-process with moto's mock_aws: listing, defaults, sources."""

from __future__ import annotations

import json

import boto3
import botocore.exceptions as bex
import pytest

from driftwatch.collectors.base import is_code
from driftwatch.collectors.sqs import RedrivePolicy, SqsQueue
from driftwatch.models import Scope

SCOPE = Scope("a", "us-east-1", "aws_sqs_queue")
DLQ = "arn:aws:sqs:us-east-1:123456789012:dlq"


@pytest.fixture
def sqs(mock_aws_env: None):
    yield boto3.client("sqs", region_name="us-east-1")


def test_lists_names_fifo_flag_and_only_the_scope_region(sqs) -> None:
    sqs.create_queue(QueueName="std")
    sqs.create_queue(QueueName="ord.fifo", Attributes={"FifoQueue": "true"})
    boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="west")
    got = SqsQueue().list_resources(sqs, SCOPE)
    assert {q.id: q.attrs["fifo_queue"] for q in got} == {"std": False, "ord.fifo": True}
    assert all(q.listed["url"].endswith("/" + q.id) for q in got)


def test_lists_past_the_first_thousand_queues(sqs) -> None:
    # Without MaxResults, ListQueues stops at 1000 URLs and gives no NextToken.
    for i in range(1001):
        sqs.create_queue(QueueName=f"q{i:04d}")
    assert len(SqsQueue().list_resources(sqs, SCOPE)) == 1001


def test_unconfigured_queue_reads_as_defaults(sqs) -> None:
    sqs.create_queue(QueueName="bare")
    c = SqsQueue()
    [live] = c.list_resources(sqs, SCOPE)
    for source in c.sources_for(list(c.attributes)):
        live.attrs.update(c.read(source, sqs, live))
    assert live.attrs == {
        "visibility_timeout_seconds": 30,
        "message_retention_seconds": 345600,
        "delay_seconds": 0,
        "max_message_size": 1048576,  # AWS's default since 2025 (256 KiB before)
        "fifo_queue": False,
        "kms_master_key_id": None,
        "policy": None,
        "redrive_policy": None,
        "tags": {},
    }
    assert not c.aws_managed(live)


def test_reads_redrive_policy_and_key(sqs) -> None:
    sqs.create_queue(QueueName="dlq")
    redrive = json.dumps({"deadLetterTargetArn": DLQ, "maxReceiveCount": "4"})
    sqs.create_queue(
        QueueName="q", Attributes={"RedrivePolicy": redrive, "KmsMasterKeyId": "alias/q"}
    )
    c = SqsQueue()
    live = next(q for q in c.list_resources(sqs, SCOPE) if q.id == "q")
    got = c.read("attributes", sqs, live)
    assert got["kms_master_key_id"] == "alias/q"
    assert c.canonical({"redrive_policy": got["redrive_policy"]}, {}) == {
        "redrive_policy": {"deadLetterTargetArn": DLQ, "maxReceiveCount": 4}
    }


def test_a_deleted_queue_is_not_found(sqs) -> None:
    sqs.create_queue(QueueName="gone")
    c = SqsQueue()
    [live] = c.list_resources(sqs, SCOPE)
    sqs.delete_queue(QueueUrl=live.listed["url"])
    for source in ("attributes", "tags"):
        with pytest.raises(bex.ClientError) as exc:
            c.read(source, sqs, live)
        assert is_code(exc.value, *c.not_found_codes)


def test_redrive_policy_canonical_form() -> None:
    kind = RedrivePolicy()
    as_text = json.dumps({"maxReceiveCount": "5", "deadLetterTargetArn": DLQ})
    as_map = {"deadLetterTargetArn": DLQ, "maxReceiveCount": 5}
    assert kind.canonical(as_text, {}) == kind.canonical(as_map, {}) == as_map
    assert kind.canonical("", {}) is None and kind.canonical(None, {}) is None
    assert kind.check(as_text) is None and kind.check(as_map) is None
    assert kind.check("{not json") is not None
    assert kind.check("[1]") is not None
    assert kind.check({"maxReceiveCount": "five"}) is not None


def test_sources() -> None:
    c = SqsQueue()
    assert c.sources_for(["tags"]) == ["tags"]
    assert c.sources_for(["fifo_queue"]) == []
    assert c.sources_for(["delay_seconds", "policy", "redrive_policy"]) == ["attributes"]
    assert c.sources_for(list(c.attributes)) == ["attributes", "tags"]
