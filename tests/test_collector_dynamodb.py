"""aws_dynamodb_table collector, in-process with moto's mock_aws: defaults, listing, sources."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from driftwatch.collectors.base import is_code
from driftwatch.collectors.dynamodb import DynamoDbTable, KeyAttributes
from driftwatch.models import LiveResource, Scope

SCOPE = Scope("a", "us-east-1", "aws_dynamodb_table")


@pytest.fixture
def ddb(mock_aws_env: None):
    yield boto3.client("dynamodb", region_name="us-east-1")


def _create(ddb: Any, name: str, **kw: Any) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **kw,
    )


def _read_all(c: DynamoDbTable, client: Any, live: LiveResource) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for source in c.sources_for(list(c.attributes)):
        attrs.update(c.read(source, client, live))
    return attrs


def _count_calls(client: Any) -> Counter[str]:
    calls: Counter[str] = Counter()
    client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


def test_unconfigured_table_reads_as_defaults(ddb) -> None:
    _create(ddb, "bare")
    c = DynamoDbTable()
    [live] = c.list_resources(ddb, SCOPE)
    assert _read_all(c, ddb, live) == {
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": "id",
        "range_key": None,
        "attribute": [{"name": "id", "type": "S"}],
        "read_capacity": 0,
        "write_capacity": 0,
        "stream_enabled": False,
        "point_in_time_recovery": False,
        "tags": [],
    }


def test_lists_every_page_of_the_scope_region_only(ddb) -> None:
    for i in range(105):  # ListTables returns at most 100 names a page
        _create(ddb, f"t{i:03}")
    _create(boto3.client("dynamodb", region_name="eu-west-1"), "west")
    calls = _count_calls(ddb)
    got = DynamoDbTable().list_resources(ddb, SCOPE)
    assert [t.id for t in got] == [f"t{i:03}" for i in range(105)]
    assert calls == {"ListTables": 2}
    assert DynamoDbTable().summary(got[0]) == {"id": "t000"}


def test_nothing_is_aws_managed(ddb) -> None:
    _create(ddb, "t")
    c = DynamoDbTable()
    assert [c.aws_managed(t) for t in c.list_resources(ddb, SCOPE)] == [False]


def test_tags_read_every_page_and_learn_the_arn_once_per_scope(ddb) -> None:
    tags = [{"Key": f"k{i:02}", "Value": str(i)} for i in range(12)]  # moto pages by 10
    _create(ddb, "a", Tags=tags)
    _create(ddb, "b", Tags=[{"Key": "team", "Value": "x"}])
    c = DynamoDbTable()
    a, b = c.list_resources(ddb, SCOPE)
    calls = _count_calls(ddb)
    assert c.read("tags", ddb, a) == {"tags": tags}
    assert c.read("tags", ddb, b) == {"tags": [{"Key": "team", "Value": "x"}]}
    assert calls == {"DescribeTable": 1, "ListTagsOfResource": 3}


def test_table_without_billing_mode_summary_is_provisioned() -> None:
    # Tables created before on-demand existed have no BillingModeSummary at all.
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    table = {
        "TableName": "old",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
    }
    with Stubber(client) as stub:
        stub.add_response("describe_table", {"Table": table}, {"TableName": "old"})
        got = DynamoDbTable().read("describe", client, LiveResource("t", "old", "a", "r"))
    assert (got["billing_mode"], got["read_capacity"], got["write_capacity"]) == (
        "PROVISIONED",
        2,
        1,
    )


def test_a_deleted_table_is_a_not_found_code(ddb) -> None:
    _create(ddb, "gone")
    c = DynamoDbTable()
    [live] = c.list_resources(ddb, SCOPE)
    ddb.delete_table(TableName="gone")
    for source in ("describe", "backups", "tags"):
        with pytest.raises(ClientError) as exc:
            c.read(source, ddb, live)
        assert is_code(exc.value, *c.not_found_codes), source


def test_each_source_feeds_only_its_attributes() -> None:
    c = DynamoDbTable()
    assert c.sources_for(["tags"]) == ["tags"]
    assert c.sources_for(["point_in_time_recovery"]) == ["backups"]
    assert c.sources_for(["billing_mode", "attribute", "stream_enabled"]) == ["describe"]
    assert c.sources_for(list(c.attributes)) == ["backups", "describe", "tags"]
    assert c.sources_for([]) == []


def test_attribute_blocks_are_a_set() -> None:
    kind = KeyAttributes()
    a = [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}]
    assert kind.canonical(a, {}) == kind.canonical(list(reversed(a)) + a[:1], {})
    assert kind.canonical(a, {}) == {"pk": "S", "sk": "N"}
    assert kind.canonical(None, {}) == {}
    assert kind.check(a) is None
    assert kind.check("pk") is not None
    assert kind.check([{"name": "pk"}]) is not None
    assert kind.check([{"name": "pk", "type": "X"}]) is not None
    assert kind.check([{"name": "pk", "type": "S"}, {"name": "pk", "type": "N"}]) is not None
