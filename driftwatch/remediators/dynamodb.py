"""Reverts for DynamoDB tables: capacity, streams (off), point-in-time recovery, tags."""

from __future__ import annotations

from typing import Any

from driftwatch.remediators.base import Call, Remediator, RevertPlan, Target, register
from driftwatch.remediators.tagging import key_paths, tag_delta, tag_list

_CAPACITY = ("billing_mode", "read_capacity", "write_capacity")
_ON_DEMAND = "PAY_PER_REQUEST"
_KEY_SCHEMA = ("hash_key", "range_key", "attribute")
_SWITCH = "AWS limits how often a table may switch capacity modes in 24 hours"


@register
class DynamoDbTableRemediator(Remediator):
    """Capacity, streams (off), point-in-time recovery and tags go back; the key schema cannot.

    The billing mode and both capacities are set by one UpdateTable, as AWS requires
    when a table switches to provisioned mode.
    """

    type = "aws_dynamodb_table"
    order = (*_CAPACITY, "stream_enabled", "point_in_time_recovery", "tags")

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        name, fixes = target.live.id, target.paths(attr)
        if attr in _CAPACITY:
            if attr == next(a for a in _CAPACITY if a in target.drifted):
                _capacity(target, out)
        elif attr in _KEY_SCHEMA:
            out.refuse(
                attr,
                "a table's key schema and key attribute types are fixed when it is created: "
                "create the declared table and copy the items (pipeline mode)",
            )
        elif attr == "stream_enabled":
            _stream(name, bool(target.want.get(attr)), fixes, out)
        elif attr == "point_in_time_recovery":
            spec = {"PointInTimeRecoveryEnabled": bool(target.want.get(attr))}
            params = {"TableName": name, "PointInTimeRecoverySpecification": spec}
            out.add(Call("dynamodb", "update_continuous_backups", params, fixes))
        elif attr == "tags":
            _tags(target.live.listed["arn"], target, out)
        else:
            super().plan_attr(attr, target, options, out)


def _capacity(target: Target, out: RevertPlan) -> None:
    """One UpdateTable for the drifted billing mode and capacities, or refusals saying why."""
    drifted = [a for a in _CAPACITY if a in target.drifted]
    fixes = tuple(p for a in drifted for p in target.paths(a))
    mode = target.want.get("billing_mode") or target.live.attrs.get("billing_mode")
    if mode == _ON_DEMAND:
        _on_demand(target, drifted, fixes, out)
        return
    units = {a: _units(a, target) for a in ("read_capacity", "write_capacity")}
    if not all(units.values()):
        for attr in drifted:
            out.refuse(
                attr,
                "a provisioned table needs read and write capacity above 0: declare "
                "read_capacity and write_capacity",
            )
        return
    params: dict[str, Any] = {
        "TableName": target.live.id,
        "ProvisionedThroughput": {
            "ReadCapacityUnits": units["read_capacity"],
            "WriteCapacityUnits": units["write_capacity"],
        },
    }
    note = ""
    if "billing_mode" in drifted:
        params["BillingMode"] = mode
        # The manifest does not declare indexes, so their capacity cannot be planned.
        note = _SWITCH + (
            "; a table with global secondary indexes also needs their capacity, and AWS "
            "rejects the switch without it"
        )
    out.add(Call("dynamodb", "update_table", params, fixes, note=note))


def _on_demand(target: Target, drifted: list[str], fixes: tuple[str, ...], out: RevertPlan) -> None:
    if "billing_mode" not in drifted:
        for attr in drifted:
            out.refuse(
                attr,
                "the table is on-demand (PAY_PER_REQUEST), which has no provisioned "
                "capacity: declare 0, or billing_mode PROVISIONED",
            )
        return
    # On-demand tables report 0 units, so declared zeros are fixed by the same switch;
    # other declared units contradict the declared mode and can never match.
    contradicting = [
        a for a in drifted if a != "billing_mode" and target.want.get(a) not in (0, None)
    ]
    for attr in contradicting:
        out.refuse(
            attr,
            f"{attr} is declared {target.want[attr]} but billing_mode PAY_PER_REQUEST has "
            "no provisioned capacity (AWS reports 0): declare 0",
        )
    fixes = tuple(p for a in drifted if a not in contradicting for p in target.paths(a))
    out.add(
        Call(
            "dynamodb",
            "update_table",
            {"TableName": target.live.id, "BillingMode": _ON_DEMAND},
            fixes,
            note=_SWITCH,
        )
    )


def _units(attr: str, target: Target) -> int:
    value = target.want[attr] if attr in target.want else target.live.attrs.get(attr)
    return int(value or 0)


def _stream(name: str, want: bool, fixes: tuple[str, ...], out: RevertPlan) -> None:
    if want:
        out.refuse(
            "stream_enabled",
            "turning a stream on needs its view type (KEYS_ONLY, NEW_IMAGE, ...), which "
            "the manifest does not declare: enable it where the table is defined",
        )
        return
    params = {"TableName": name, "StreamSpecification": {"StreamEnabled": False}}
    out.add(
        Call(
            "dynamodb",
            "update_table",
            params,
            fixes,
            note="consumers lose the stream; its records stay readable for 24 hours",
        )
    )


def _tags(arn: str, target: Target, out: RevertPlan) -> None:
    delta = tag_delta(target)
    if delta.remove:
        removed = {"ResourceArn": arn, "TagKeys": delta.remove}
        out.add(Call("dynamodb", "untag_resource", removed, key_paths(target, delta.remove)))
    if delta.put:
        put = {"ResourceArn": arn, "Tags": tag_list(delta.put)}
        out.add(Call("dynamodb", "tag_resource", put, key_paths(target, delta.put)))
