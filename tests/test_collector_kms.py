"""aws_kms_key collector in-process (moto's mock_aws; Stubber for responses moto cannot make)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from driftwatch.collectors.kms import DeletionWindow, KmsKey
from driftwatch.diff import diff_resource
from driftwatch.models import DeclaredResource, Kind, LiveResource, Scope

SCOPE = Scope("a", "us-east-1", "aws_kms_key")
ARN = "arn:aws:kms:us-east-1:123456789012:key/"


@pytest.fixture
def kms(mock_aws_env: None):
    yield boto3.client("kms", region_name="us-east-1")


def _stubbed() -> Any:
    return boto3.client(
        "kms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _read_all(c: KmsKey, client: Any, live: LiveResource) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for source in c.sources_for(list(c.attributes)):
        attrs.update(c.read(source, client, live))
    return attrs


def test_unconfigured_key_reads_as_defaults(kms) -> None:
    kms.create_key()
    c = KmsKey()
    [live] = c.list_resources(kms, SCOPE)
    attrs = _read_all(c, kms, live)
    assert attrs.pop("policy")  # moto's default key policy
    assert attrs == {
        "description": "",
        "key_usage": "ENCRYPT_DECRYPT",
        "deletion_window_in_days": None,
        "enable_key_rotation": False,
        "tags": {},
    }


def test_names_are_aliases_and_arn_and_aws_keys_are_excluded(kms) -> None:
    mine = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/b", TargetKeyId=mine)
    kms.create_alias(AliasName="alias/a", TargetKeyId=mine)
    bare = kms.create_key()["KeyMetadata"]["KeyId"]
    aws_key = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyId"]
    boto3.client("kms", region_name="eu-west-1").create_key()
    c = KmsKey()
    got = {x.id: x for x in c.list_resources(kms, SCOPE)}
    assert set(got) == {mine, bare, aws_key}  # moto's other predefined aliases have no key
    assert got[mine].names == ("alias/a", "alias/b", ARN + mine)
    assert got[bare].names == (ARN + bare,)
    assert {k: c.aws_managed(v) for k, v in got.items()} == {
        mine: False,
        bare: False,
        aws_key: True,
    }
    assert c.summary(got[mine]) == {"id": mine, "aliases": ["alias/a", "alias/b"]}
    for ident in ("alias/a", "alias/b", mine, ARN + mine):
        declared = DeclaredResource("aws_kms_key", ident, "a", "us-east-1", {}, "m.yaml")
        assert c.match(declared, list(got.values())) == [got[mine]], ident


def test_listing_follows_every_page() -> None:
    client = _stubbed()
    ids = [f"{i}234abcd-12ab-34cd-56ef-1234567890ab" for i in range(3)]
    keys = [{"KeyId": k, "KeyArn": ARN + k} for k in ids]
    with Stubber(client) as stub:
        stub.add_response("list_keys", {"Keys": keys[:2], "Truncated": True, "NextMarker": "m"})
        stub.add_response("list_keys", {"Keys": keys[2:], "Truncated": False}, {"Marker": "m"})
        stub.add_response(
            "list_aliases",
            {
                "Aliases": [{"AliasName": "alias/x", "TargetKeyId": ids[0]}],
                "Truncated": True,
                "NextMarker": "n",
            },
        )
        stub.add_response(
            "list_aliases",
            {
                "Aliases": [
                    {"AliasName": "alias/aws/s3", "TargetKeyId": ids[2]},
                    {"AliasName": "alias/aws/backup"},  # predefined, key not created yet
                ],
                "Truncated": False,
            },
            {"Marker": "n"},
        )
        got = KmsKey().list_resources(client, SCOPE)
    assert [(x.id, x.listed["aliases"]) for x in got] == [
        (ids[0], ["alias/x"]),
        (ids[1], []),
        (ids[2], ["alias/aws/s3"]),
    ]
    assert [KmsKey().aws_managed(x) for x in got] == [False, False, True]


def test_tags_and_rotation_and_policy(kms) -> None:
    key_id = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "x"}])["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy='{"Statement": []}')
    c = KmsKey()
    [live] = c.list_resources(kms, SCOPE)
    assert c.read("tags", kms, live) == {"tags": {"team": "x"}}
    assert c.read("rotation", kms, live) == {"enable_key_rotation": True}
    assert c.read("policy", kms, live) == {"policy": '{"Statement": []}'}


def test_keys_that_cannot_rotate_read_as_not_rotating() -> None:
    client = _stubbed()
    live = LiveResource("aws_kms_key", "k", "a", "us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("get_key_rotation_status", "UnsupportedOperationException")
        assert KmsKey().read("rotation", client, live) == {"enable_key_rotation": False}
        stub.add_client_error("get_key_rotation_status", "KMSInvalidStateException")
        with pytest.raises(ClientError, match="KMSInvalidStateException"):
            KmsKey().read("rotation", client, live)


def _diff(declared_window: int, live: LiveResource) -> Any:
    spec = {"deletion_window_in_days": declared_window}
    res = DeclaredResource("aws_kms_key", live.id, "a", "us-east-1", spec, "m.yaml")
    return diff_resource(KmsKey(), res, live, [], dt.date.today(), secret_key=bytes(32))


def test_deletion_window_is_compared_only_when_aws_shows_it(kms) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    [live] = KmsKey().list_resources(kms, SCOPE)
    live.attrs.update(KmsKey().read("describe", kms, live))
    # Pending deletion: AWS (and moto) show a DeletionDate, never the window itself.
    assert live.attrs["deletion_window_in_days"] is None
    assert _diff(30, live).kind == Kind.IN_SYNC
    # A multi-Region primary waiting for its replicas shows the window (moto cannot).
    client = _stubbed()
    meta = {
        "KeyId": "mrk-1",
        "KeyState": "PendingReplicaDeletion",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "Description": "",
        "PendingDeletionWindowInDays": 30,
    }
    primary = LiveResource("aws_kms_key", "mrk-1", "a", "us-east-1")
    with Stubber(client) as stub:
        stub.add_response("describe_key", {"KeyMetadata": meta}, {"KeyId": "mrk-1"})
        primary.attrs.update(KmsKey().read("describe", client, primary))
    assert primary.attrs["deletion_window_in_days"] == 30
    assert _diff(30, primary).kind == Kind.IN_SYNC
    drift = _diff(7, primary)
    assert drift.kind == Kind.MODIFIED
    assert [c.to_dict() for c in drift.changes] == [
        {"path": "deletion_window_in_days", "declared": 7, "live": 30}
    ]


def test_deletion_window_accepts_only_7_to_30_days() -> None:
    kind = DeletionWindow()
    assert kind.check(7) is None and kind.check(30) is None
    assert kind.check(6) is not None and kind.check(31) is not None
    assert kind.check("7") is not None and kind.check(True) is not None


def test_each_source_feeds_only_its_attributes() -> None:
    c = KmsKey()
    assert c.sources_for(["tags"]) == ["tags"]
    assert c.sources_for(["description", "key_usage", "deletion_window_in_days"]) == ["describe"]
    assert c.sources_for(["enable_key_rotation"]) == ["rotation"]
    assert c.sources_for(["policy"]) == ["policy"]
    assert c.sources_for(list(c.attributes)) == ["describe", "policy", "rotation", "tags"]
