"""Reverts for EC2: security-group rules and tags; instance tags, groups, monitoring, type."""

from __future__ import annotations

from typing import Any

from driftwatch.models import LiveResource
from driftwatch.remediators.base import (
    WHOLE,
    Call,
    Option,
    Remediator,
    RevertPlan,
    Target,
    register,
)
from driftwatch.remediators.sets import key_paths, map_diff
from driftwatch.schema import PORTED_PROTOCOLS

_RANGES = (
    ("cidr_blocks", "IpRanges", "CidrIp"),
    ("ipv6_cidr_blocks", "Ipv6Ranges", "CidrIpv6"),
    ("security_groups", "UserIdGroupPairs", "GroupId"),
    ("prefix_list_ids", "PrefixListIds", "PrefixListId"),
)
_RECREATE = "(pipeline mode)"


@register
class SecurityGroupRemediator(Remediator):
    """Rules (revoke what is extra, authorize what is missing) and tags change in place."""

    type = "aws_security_group"
    order = ("ingress", "egress", "tags")

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        if attr in ("ingress", "egress"):
            _rules(attr, target, out)
        elif attr == "tags":
            _tags(target, out)
        elif attr == "description":
            out.refuse(
                attr,
                "a security group's description cannot change in place: re-create the "
                f"group {_RECREATE}",
            )
        elif attr == "vpc_id":
            out.refuse(
                attr,
                f"a security group cannot move to another VPC: re-create it there {_RECREATE}",
            )
        else:
            super().plan_attr(attr, target, options, out)

    def delete(self, live: LiveResource) -> RevertPlan:
        out = RevertPlan()
        if "default" in live.names:
            out.refuse(WHOLE, "a VPC's default group is deleted only with its VPC")
            return out
        out.add(
            Call(
                "ec2",
                "delete_security_group",
                {"GroupId": live.id},
                (WHOLE,),
                note="EC2 refuses (DependencyViolation) while a network interface uses the "
                "group or another group's rule references it",
            )
        )
        return out


def _rules(attr: str, target: Target, out: RevertPlan) -> None:
    """Authorize what is missing first, so declared traffic is never cut off, then revoke."""
    gid, diff, have = target.live.id, map_diff(target, attr), target.have.get(attr) or {}
    if diff.add:
        perms = [_permission(rule, gid, _described(rule)) for rule in diff.add.values()]
        out.add(
            Call(
                "ec2",
                f"authorize_security_group_{attr}",
                {"GroupId": gid, "IpPermissions": perms},
                key_paths(target, attr, diff.add),
            )
        )
    if diff.change:
        # Description "" clears one. AWS also clears it when Description is left out, but
        # moto then keeps the old one; an empty description compares as none.
        perms = [
            _permission(rule, gid, {"Description": rule["description"] or ""})
            for rule in diff.change.values()
        ]
        out.add(
            Call(
                "ec2",
                f"update_security_group_rule_descriptions_{attr}",
                {"GroupId": gid, "IpPermissions": perms},
                key_paths(target, attr, diff.change),
                note="the rules stay; only their descriptions change",
            )
        )
    if diff.remove:
        perms = [_permission(have[key], gid, {}) for key in diff.remove]
        out.add(
            Call(
                "ec2",
                f"revoke_security_group_{attr}",
                {"GroupId": gid, "IpPermissions": perms},
                key_paths(target, attr, diff.remove),
            )
        )


def _described(rule: dict[str, Any]) -> dict[str, str]:
    return {"Description": rule["description"]} if rule["description"] else {}


def _permission(rule: dict[str, Any], gid: str, extra: dict[str, str]) -> dict[str, Any]:
    """One canonical (exploded) rule → one AWS IpPermission with a single source.

    `extra` goes beside the source: its description, or nothing (revokes match without).
    """
    perm: dict[str, Any] = {"IpProtocol": rule["protocol"]}
    if rule["protocol"] in PORTED_PROTOCOLS:
        perm["FromPort"], perm["ToPort"] = rule["from_port"], rule["to_port"]
    if rule.get("self"):
        perm["UserIdGroupPairs"] = [{"GroupId": gid, **extra}]
        return perm
    for key, aws_list, aws_key in _RANGES:
        if rule.get(key):
            perm[aws_list] = [{aws_key: rule[key][0], **extra}]
    return perm


def _tags(target: Target, out: RevertPlan) -> None:
    rid, diff = target.live.id, map_diff(target, "tags")
    if diff.put:
        tags = [{"Key": k, "Value": v} for k, v in diff.put.items()]
        out.add(
            Call(
                "ec2",
                "create_tags",
                {"Resources": [rid], "Tags": tags},
                key_paths(target, "tags", diff.put),
            )
        )
    if diff.remove:
        out.add(
            Call(
                "ec2",
                "delete_tags",
                {"Resources": [rid], "Tags": [{"Key": k} for k in diff.remove]},
                key_paths(target, "tags", diff.remove),
            )
        )


STOP_START = Option(
    "stop_start",
    "stop a running instance, change its type and start it again (downtime; its public "
    "IPv4 address changes unless it is an Elastic IP)",
)


@register
class InstanceRemediator(Remediator):
    """Tags, security groups and monitoring change in place; the type only when stopped
    (or with the `stop_start` option); the AMI and the subnet never."""

    type = "aws_instance"
    order = ("tags", "vpc_security_group_ids", "monitoring", "instance_type")
    options = (STOP_START,)

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        iid, want, fixes = target.live.id, target.want.get(attr), target.paths(attr)
        if attr == "tags":
            _tags(target, out)
        elif attr == "vpc_security_group_ids":
            _groups(iid, want or [], fixes, out)
        elif attr == "monitoring":
            operation = "monitor_instances" if want else "unmonitor_instances"
            out.add(Call("ec2", operation, {"InstanceIds": [iid]}, fixes))
        elif attr == "instance_type":
            _instance_type(target, str(want), options, out)
        elif attr in ("ami", "subnet_id"):
            what = "AMI" if attr == "ami" else "subnet"
            out.refuse(
                attr,
                f"an instance's {what} is fixed at launch: replace the instance {_RECREATE}",
            )
        else:
            super().plan_attr(attr, target, options, out)


def _groups(iid: str, want: list[str], fixes: tuple[str, ...], out: RevertPlan) -> None:
    if not want:
        out.refuse(
            "vpc_security_group_ids",
            "an instance in a VPC needs at least one security group; declare one",
        )
        return
    out.add(
        Call(
            "ec2",
            "modify_instance_attribute",
            {"InstanceId": iid, "Groups": want},
            fixes,
            note="replaces the instance's whole set of security groups",
        )
    )


def _instance_type(target: Target, want: str, options: frozenset[str], out: RevertPlan) -> None:
    iid, fixes = target.live.id, target.paths("instance_type")
    state = target.live.listed.get("state")
    change = Call(
        "ec2",
        "modify_instance_attribute",
        {"InstanceId": iid, "InstanceType": {"Value": want}},
        fixes,
    )
    if state == "stopped":
        out.add(change)
    elif state == "running" and STOP_START.name in options:
        ids = {"InstanceIds": [iid]}
        stop_note = (
            "stop, change, start: waits until the instance is stopped (waiter "
            "instance_stopped); its public IPv4 address changes unless it is an Elastic IP"
        )
        out.add(
            Call("ec2", "stop_instances", ids, fixes, note=stop_note, waiter="instance_stopped")
        )
        out.add(change)
        start_note = "waits until the instance is running (waiter instance_running)"
        out.add(
            Call("ec2", "start_instances", ids, fixes, note=start_note, waiter="instance_running")
        )
    elif state == "running":
        out.refuse(
            "instance_type",
            "the instance is running and EC2 changes the type of a stopped instance only: "
            f"stop it first, or plan again with the option {STOP_START.name} (stop, change, "
            "start: downtime)",
        )
    else:
        out.refuse(
            "instance_type",
            f"the instance is {state or 'in an unknown state'}: plan again once it is "
            "stopped (or running, with the option stop_start)",
        )
