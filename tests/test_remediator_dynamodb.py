"""aws_dynamodb_table reverts: capacity in one UpdateTable, streams, PITR, tags."""

from __future__ import annotations

from support import seed_dynamodb
from support.env import Aws
from support.revert import drifted_paths, plan, pure_target, revert

T = "aws_dynamodb_table"
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


def _pure(spec: dict, live: dict):
    return plan(pure_target(T, spec, live, rid="t", listed={"arn": ARN}))


def test_switch_to_provisioned_sets_mode_and_both_capacities_in_one_call() -> None:
    got = _pure(
        {"billing_mode": "PROVISIONED", "read_capacity": 5, "write_capacity": 3},
        {"billing_mode": "PAY_PER_REQUEST", "read_capacity": 0, "write_capacity": 0},
    )
    assert [(c.operation, c.params, c.fixes) for c in got.calls] == [
        (
            "update_table",
            {
                "TableName": "t",
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
                "BillingMode": "PROVISIONED",
            },
            ("billing_mode", "read_capacity", "write_capacity"),
        )
    ]
    assert "24 hours" in got.calls[0].note


def test_one_drifted_capacity_keeps_the_live_value_of_the_other() -> None:
    got = _pure(
        {"read_capacity": 5},
        {"billing_mode": "PROVISIONED", "read_capacity": 9, "write_capacity": 4},
    )
    assert [(c.params, c.fixes) for c in got.calls] == [
        (
            {
                "TableName": "t",
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 4},
            },
            ("read_capacity",),
        )
    ]


def test_switch_to_on_demand_fixes_the_declared_zero_capacities_too() -> None:
    got = _pure(
        {"billing_mode": "PAY_PER_REQUEST", "read_capacity": 0},
        {"billing_mode": "PROVISIONED", "read_capacity": 5},
    )
    assert [(c.params, c.fixes) for c in got.calls] == [
        ({"TableName": "t", "BillingMode": "PAY_PER_REQUEST"}, ("billing_mode", "read_capacity"))
    ]


def test_capacity_refusals_say_why() -> None:
    on_demand = _pure({"read_capacity": 5}, {"billing_mode": "PAY_PER_REQUEST", "read_capacity": 0})
    assert on_demand.calls == []
    assert [(r.path, "on-demand" in r.why) for r in on_demand.not_revertible] == [
        ("read_capacity", True)
    ]
    no_units = _pure(
        {"billing_mode": "PROVISIONED"},
        {"billing_mode": "PAY_PER_REQUEST", "read_capacity": 0, "write_capacity": 0},
    )
    assert no_units.calls == []
    assert [r.path for r in no_units.not_revertible] == ["billing_mode"]
    assert "declare read_capacity and write_capacity" in no_units.not_revertible[0].why


def test_key_schema_and_turning_a_stream_on_are_refused() -> None:
    got = _pure(
        {"hash_key": "pk", "range_key": "sk", "attribute": [{"name": "pk", "type": "S"}],
         "stream_enabled": True},
        {"hash_key": "id", "range_key": None, "attribute": [{"name": "id", "type": "S"}],
         "stream_enabled": False},
    )  # fmt: skip
    assert got.calls == []
    whys = {r.path: r.why for r in got.not_revertible}
    assert set(whys) == {"hash_key", "range_key", "attribute", "stream_enabled"}
    assert "key schema" in whys["hash_key"] and "view type" in whys["stream_enabled"]


def test_stream_off_pitr_and_tags() -> None:
    got = _pure(
        {"stream_enabled": False, "point_in_time_recovery": True, "tags": {"team": "a", "n": 1}},
        {
            "stream_enabled": True,
            "point_in_time_recovery": False,
            "tags": [{"Key": "x", "Value": "1"}],
        },
    )
    assert [(c.operation, c.params) for c in got.calls] == [
        ("update_table", {"TableName": "t", "StreamSpecification": {"StreamEnabled": False}}),
        (
            "update_continuous_backups",
            {
                "TableName": "t",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            },
        ),
        ("untag_resource", {"ResourceArn": ARN, "TagKeys": ["x"]}),
        (
            "tag_resource",
            {
                "ResourceArn": ARN,
                "Tags": [{"Key": "n", "Value": "1"}, {"Key": "team", "Value": "a"}],
            },
        ),
    ]


def test_round_trip_puts_capacity_stream_pitr_and_tags_back(aws: Aws) -> None:
    spec, _ = seed_dynamodb.table(aws, "orders")
    spec["stream_enabled"] = False
    ddb = aws.client("dynamodb")
    ddb.update_table(
        TableName="orders",
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
    )
    ddb.update_continuous_backups(
        TableName="orders",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    arn = ddb.describe_table(TableName="orders")["Table"]["TableArn"]
    ddb.untag_resource(ResourceArn=arn, TagKeys=["cost"])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "x"}])
    assert {p.split(".")[0] for p in drifted_paths(aws, T, "orders", spec)} == {
        "read_capacity",
        "write_capacity",
        "stream_enabled",
        "point_in_time_recovery",
        "tags",
    }
    done = revert(aws, T, "orders", spec)
    assert [c.operation for c in done.calls] == [
        "update_table",
        "update_table",
        "update_continuous_backups",
        "tag_resource",
    ]
    assert drifted_paths(aws, T, "orders", spec) == []


def test_round_trip_switches_billing_mode_both_ways(aws: Aws) -> None:
    seed_dynamodb.bare_table(aws, "bare")
    provisioned = {"billing_mode": "PROVISIONED", "read_capacity": 4, "write_capacity": 2}
    assert drifted_paths(aws, T, "bare", provisioned) == list(provisioned)
    revert(aws, T, "bare", provisioned)
    assert drifted_paths(aws, T, "bare", provisioned) == []
    on_demand = {"billing_mode": "PAY_PER_REQUEST"}
    assert drifted_paths(aws, T, "bare", on_demand) == ["billing_mode"]
    revert(aws, T, "bare", on_demand)
    assert drifted_paths(aws, T, "bare", on_demand) == []
