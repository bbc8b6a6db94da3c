"""aws_sns_topic reverts: planned calls as pure data, and round trips on the moto server."""

from __future__ import annotations

import json

from support import seed_sns
from support.env import Aws
from support.revert import drifted_paths, execute, plan, pure_target, read_live, revert

from driftwatch.remediators.sns import SnsTopicRemediator

T = "aws_sns_topic"
ARN = "arn:aws:sns:us-east-1:123456789012:alerts"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": ARN}],
}


def _pure(spec: dict, live: dict):
    return plan(pure_target(T, spec, live, rid="alerts", listed={"arn": ARN}))


def _set(name: str, value: str, fixes: list[str], note: str = "") -> dict:
    return {
        "service": "sns",
        "operation": "set_topic_attributes",
        "params": {"TopicArn": ARN, "AttributeName": name, "AttributeValue": value},
        "fixes": fixes,
        "note": note,
    }


def test_one_set_topic_attributes_per_attribute_policy_first() -> None:
    got = _pure(
        {"display_name": "Ops", "kms_master_key_id": None, "policy": POLICY},
        {"display_name": "", "kms_master_key_id": "alias/k", "policy": None},
    )
    assert [c.shown() for c in got.calls] == [
        _set("Policy", json.dumps(POLICY, sort_keys=True), ["policy"]),
        _set("KmsMasterKeyId", "", ["kms_master_key_id"], "an empty KmsMasterKeyId removes it"),
        _set("DisplayName", "Ops", ["display_name"]),
    ]


def test_a_policy_written_as_json_text_is_sent_as_written() -> None:
    text = json.dumps(POLICY, indent=1)
    got = _pure({"policy": text}, {"policy": None})
    assert got.calls[0].params["AttributeValue"] == text


def test_no_policy_is_refused_every_topic_has_one() -> None:
    got = _pure({"policy": None, "display_name": "x"}, {"policy": json.dumps(POLICY)})
    assert [c.fixes for c in got.calls] == [("display_name",)]
    [refused] = got.not_revertible
    assert refused.path == "policy" and "every SNS topic has an access policy" in refused.why


def test_tags_untag_removed_keys_and_tag_the_rest_as_a_key_value_list() -> None:
    got = _pure(
        {"tags": {"team": "ops", "cost": 42}},
        {"tags": [{"Key": "team", "Value": "x"}, {"Key": "old", "Value": ""}]},
    )
    assert [(c.operation, c.params, c.fixes) for c in got.calls] == [
        ("untag_resource", {"ResourceArn": ARN, "TagKeys": ["old"]}, ("tags.old",)),
        (
            "tag_resource",
            {
                "ResourceArn": ARN,
                "Tags": [{"Key": "cost", "Value": "42"}, {"Key": "team", "Value": "ops"}],
            },
            ("tags.cost", "tags.team"),
        ),
    ]


def test_round_trip_puts_every_attribute_and_tag_back(aws: Aws) -> None:
    spec, _ = seed_sns.topic(aws, "alerts")
    sns = aws.client("sns")
    for name, value in (
        ("DisplayName", "Other"),
        ("KmsMasterKeyId", "alias/other"),
        ("Policy", json.dumps(POLICY)),
    ):
        sns.set_topic_attributes(TopicArn=ARN, AttributeName=name, AttributeValue=value)
    sns.untag_resource(ResourceArn=ARN, TagKeys=["cost"])
    sns.tag_resource(
        ResourceArn=ARN, Tags=[{"Key": "team", "Value": "x"}, {"Key": "new", "Value": "1"}]
    )
    assert {p.split(".")[0] for p in drifted_paths(aws, T, "alerts", spec)} == set(spec)
    done = revert(aws, T, "alerts", spec)
    assert [c.operation for c in done.calls] == ["set_topic_attributes"] * 3 + [
        "untag_resource",
        "tag_resource",
    ]
    assert drifted_paths(aws, T, "alerts", spec) == []


def test_round_trip_clears_display_name_and_key(aws: Aws) -> None:
    seed_sns.topic(aws, "alerts")
    spec = {"display_name": "", "kms_master_key_id": None, "tags": {}}
    assert drifted_paths(aws, T, "alerts", spec) == [
        "display_name",
        "kms_master_key_id",
        "tags.cost",
        "tags.team",
    ]
    revert(aws, T, "alerts", spec)
    assert drifted_paths(aws, T, "alerts", spec) == []


def test_delete_plans_and_runs_delete_topic_for_an_unmanaged_topic(aws: Aws) -> None:
    aws.client("sns").create_topic(Name="stray")
    live = read_live(aws, T, "stray")
    got = SnsTopicRemediator().delete(live)
    assert [(c.operation, c.params, c.fixes) for c in got.calls] == [
        ("delete_topic", {"TopicArn": live.listed["arn"]}, ("(resource)",))
    ]
    execute(aws, got)
    assert aws.client("sns").list_topics()["Topics"] == []
