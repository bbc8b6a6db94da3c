"""aws_kms_key reverts: description, rotation, key policy, tags; refusals; moto round trips."""

from __future__ import annotations

import json

from support import seed_kms
from support.env import Aws
from support.revert import drifted_paths, plan, pure_target, revert

T = "aws_kms_key"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "111122223333"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


def _pure(spec: dict, live: dict):
    return plan(pure_target(T, spec, live, rid=KEY, names=("alias/k",)))


def test_policy_rotation_description_in_that_order() -> None:
    got = _pure(
        {"description": "", "enable_key_rotation": True, "policy": POLICY},
        {
            "description": "x",
            "enable_key_rotation": False,
            "policy": json.dumps({**POLICY, "Statement": []}),
        },
    )
    assert [(c.operation, c.params, c.fixes) for c in got.calls] == [
        (
            "put_key_policy",
            {"KeyId": KEY, "PolicyName": "default", "Policy": json.dumps(POLICY, sort_keys=True)},
            ("policy.Statement",),
        ),
        ("enable_key_rotation", {"KeyId": KEY}, ("enable_key_rotation",)),
        ("update_key_description", {"KeyId": KEY, "Description": ""}, ("description",)),
    ]
    assert "lock" in got.calls[0].note and "cannot rotate" in got.calls[1].note


def test_rotation_off_is_disable_key_rotation() -> None:
    got = _pure({"enable_key_rotation": False}, {"enable_key_rotation": True})
    assert [(c.operation, c.note) for c in got.calls] == [("disable_key_rotation", "")]


def test_usage_deletion_window_and_no_policy_are_refused() -> None:
    got = _pure(
        {"key_usage": "ENCRYPT_DECRYPT", "deletion_window_in_days": 30, "policy": None},
        {"key_usage": "SIGN_VERIFY", "deletion_window_in_days": 7, "policy": json.dumps(POLICY)},
    )
    assert got.calls == []
    whys = {r.path: r.why for r in got.not_revertible}
    assert set(whys) == {"key_usage", "deletion_window_in_days", "policy"}
    assert "CancelKeyDeletion" in whys["deletion_window_in_days"]


def test_tags_use_kms_tag_key_and_value_names() -> None:
    got = _pure({"tags": {"team": "a"}}, {"tags": {"team": "b", "old": "1"}})
    assert [(c.operation, c.params) for c in got.calls] == [
        ("untag_resource", {"KeyId": KEY, "TagKeys": ["old"]}),
        ("tag_resource", {"KeyId": KEY, "Tags": [{"TagKey": "team", "TagValue": "a"}]}),
    ]


def test_round_trip_puts_description_rotation_policy_and_tags_back(aws: Aws) -> None:
    key_id, spec, drifted = seed_kms.key(aws, "alias/orders")
    spec.pop("key_usage")
    kms = aws.client("kms")
    kms.update_key_description(KeyId=key_id, Description=drifted["description"])
    kms.disable_key_rotation(KeyId=key_id)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=drifted["policy"])
    kms.untag_resource(KeyId=key_id, TagKeys=["cost"])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "payments"}])
    assert {p.split(".")[0] for p in drifted_paths(aws, T, "alias/orders", spec)} == {
        "description",
        "enable_key_rotation",
        "policy",
        "tags",
    }
    done = revert(aws, T, "alias/orders", spec)
    assert [c.operation for c in done.calls] == [
        "put_key_policy",
        "enable_key_rotation",
        "update_key_description",
        "tag_resource",
    ]
    assert drifted_paths(aws, T, "alias/orders", spec) == []


def test_round_trip_turns_rotation_off_and_drops_tags(aws: Aws) -> None:
    key_id, _, _ = seed_kms.key(aws, "alias/orders")
    spec = {"enable_key_rotation": False, "tags": {"team": "orders"}}
    assert drifted_paths(aws, T, key_id, spec) == ["enable_key_rotation", "tags.cost"]
    revert(aws, T, key_id, spec)
    assert drifted_paths(aws, T, key_id, spec) == []
