"""aws_sqs_queue reverts: planned calls as pure data, and round trips on the moto server."""

from __future__ import annotations

import json

import pytest
from support import seed_sqs
from support.env import Aws
from support.revert import (
    drifted_paths,
    execute,
    plan,
    pure_target,
    read_live,
    revert,
)

from driftwatch.remediators.sqs import SqsQueueRemediator

T = "aws_sqs_queue"
URL = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
DLQ = "arn:aws:sqs:us-east-1:123456789012:q-dlq"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage"}],
}


def _pure(spec: dict, live: dict):
    return plan(pure_target(T, spec, live, rid="q", listed={"url": URL}))


def test_plans_one_set_queue_attributes_for_all_drifted_attributes_as_strings() -> None:
    got = _pure(
        {"visibility_timeout_seconds": 120, "delay_seconds": 5, "max_message_size": 65536},
        {"visibility_timeout_seconds": 30, "delay_seconds": 5, "max_message_size": 1024},
    )
    assert [c.shown() for c in got.calls] == [
        {
            "service": "sqs",
            "operation": "set_queue_attributes",
            "params": {
                "QueueUrl": URL,
                "Attributes": {"VisibilityTimeout": "120", "MaximumMessageSize": "65536"},
            },
            "fixes": ["visibility_timeout_seconds", "max_message_size"],
            "note": "",
        },
    ]
    assert not got.not_revertible


def test_policy_is_sent_as_declared_and_empty_values_remove_policy_key_and_redrive() -> None:
    got = _pure(
        {"policy": POLICY, "redrive_policy": {"deadLetterTargetArn": DLQ, "maxReceiveCount": "5"}},
        {"policy": None, "redrive_policy": None},
    )
    assert [c.params["Attributes"] for c in got.calls] == [
        {
            "Policy": json.dumps(POLICY, sort_keys=True),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": DLQ, "maxReceiveCount": 5}),
        }
    ]
    got = _pure(
        {"policy": None, "kms_master_key_id": "", "redrive_policy": ""},
        {"policy": json.dumps(POLICY), "kms_master_key_id": "alias/q", "redrive_policy": "{}"},
    )
    assert [c.params["Attributes"] for c in got.calls] == [
        {"KmsMasterKeyId": "", "Policy": "", "RedrivePolicy": ""}
    ]
    assert got.calls[0].note == "an empty value removes KmsMasterKeyId, Policy, RedrivePolicy"


def test_tags_untag_removed_keys_and_tag_new_or_changed_values_only() -> None:
    got = _pure(
        {"tags": {"team": "a", "cost": 7, "same": "x"}},
        {"tags": {"team": "b", "old": "1", "same": "x"}},
    )
    assert [(c.operation, c.params, c.fixes) for c in got.calls] == [
        ("untag_queue", {"QueueUrl": URL, "TagKeys": ["old"]}, ("tags.old",)),
        (
            "tag_queue",
            {"QueueUrl": URL, "Tags": {"cost": "7", "team": "a"}},
            ("tags.cost", "tags.team"),
        ),
    ]


def test_queue_type_is_refused_with_why() -> None:
    got = _pure({"fifo_queue": True, "delay_seconds": 1}, {"fifo_queue": False, "delay_seconds": 0})
    assert [c.fixes for c in got.calls] == [("delay_seconds",)]
    [refused] = got.not_revertible
    assert refused.path == "fifo_queue" and "fixed when it is created" in refused.why


def test_round_trip_puts_every_attribute_and_tag_back(aws: Aws) -> None:
    # One SetQueueAttributes for everything: moto (unlike SQS) drops the policy on any
    # SetQueueAttributes without one, so one call per attribute would not round-trip here.
    spec, _ = seed_sqs.queue(aws, "orders")
    spec.pop("fifo_queue")
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    dlq = seed_sqs.queue_arn(aws, sqs.get_queue_url(QueueName="orders-dlq")["QueueUrl"])
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "30",
            "MessageRetentionPeriod": "345600",
            "DelaySeconds": "0",
            "MaximumMessageSize": "262144",
            "KmsMasterKeyId": "alias/other",
            "Policy": json.dumps(POLICY),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq, "maxReceiveCount": 9}),
        },
    )
    sqs.untag_queue(QueueUrl=url, TagKeys=["cost"])
    sqs.tag_queue(QueueUrl=url, Tags={"team": "billing", "extra": "1"})
    assert {p.split(".")[0] for p in drifted_paths(aws, T, "orders", spec)} == set(spec)
    done = revert(aws, T, "orders", spec)
    assert {p.split(".")[0] for p in done.fixes} == set(spec)
    assert drifted_paths(aws, T, "orders", spec) == []


def test_round_trip_removes_an_undeclared_policy_redrive_and_key(aws: Aws) -> None:
    seed_sqs.queue(aws, "plain")
    spec = {"policy": None, "redrive_policy": None, "kms_master_key_id": None, "tags": {}}
    assert drifted_paths(aws, T, "plain", spec) == [
        "kms_master_key_id",
        "policy",
        "redrive_policy",
        "tags.cost",
        "tags.team",
    ]
    revert(aws, T, "plain", spec)
    assert drifted_paths(aws, T, "plain", spec) == []


def test_delete_plans_and_runs_delete_queue_for_an_unmanaged_queue(aws: Aws) -> None:
    aws.client("sqs").create_queue(QueueName="stray")
    live = read_live(aws, T, "stray")
    got = SqsQueueRemediator().delete(live)
    assert [(c.operation, c.params) for c in got.calls] == [
        ("delete_queue", {"QueueUrl": live.listed["url"]})
    ]
    assert "every message" in got.calls[0].note
    execute(aws, got)
    assert aws.client("sqs").list_queues().get("QueueUrls", []) == []


@pytest.mark.parametrize("attr", ["visibility_timeout_seconds", "message_retention_seconds"])
def test_in_sync_attributes_plan_nothing(attr: str) -> None:
    got = _pure({attr: 60}, {attr: 60})
    assert got.calls == [] and got.not_revertible == []


def test_a_tag_key_an_ignore_rule_hides_is_left_alone() -> None:
    import dataclasses

    target = pure_target(
        T, {"tags": {"team": "a"}}, {"tags": {"team": "b", "owner": "x"}}, rid="q",
        listed={"url": URL},
    )  # fmt: skip
    # As the scan leaves it when an [[ignore]] rule covers tags.owner: no change path.
    hidden = tuple(c for c in target.changes if c.path != "tags.owner")
    got = plan(dataclasses.replace(target, changes=hidden))
    assert [(c.operation, c.params, c.fixes) for c in got.calls] == [
        ("tag_queue", {"QueueUrl": URL, "Tags": {"team": "a"}}, ("tags.team",)),
    ]
