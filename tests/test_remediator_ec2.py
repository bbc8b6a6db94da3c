"""Reverts of aws_security_group and aws_instance: pure plans, then real round trips on moto."""

from __future__ import annotations

from typing import Any

import pytest
from support import seed
from support.env import Aws
from support.revert import (
    checked,
    declared,
    execute,
    plan,
    pure_target,
    read_live,
    read_target,
    replayed,
    revert,
    target_of,
)

from driftwatch.motoserver import MotoServer
from driftwatch.registry import remediators

GID = "sg-0123456789abcdef0"


@pytest.fixture(scope="module")
def ami(moto_server: MotoServer) -> str:
    """moto's AMIs survive its resets; listing them costs seconds, so once per module."""
    return Aws(moto_server.url).ami()


def _instance(aws: Aws, name: str, ami: str) -> tuple[str, dict[str, Any], str]:
    """A running t3.micro with two groups and two tags; the spec that matches it; a third group."""
    ec2 = aws.client("ec2")
    sgs = [
        ec2.create_security_group(GroupName=f"{name}-{i}", Description="x")["GroupId"]
        for i in range(3)
    ]
    iid = ec2.run_instances(
        ImageId=ami,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SecurityGroupIds=sgs[:2],
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": "Name", "Value": name}, {"Key": "env", "Value": "prod"}],
            }
        ],
    )["Instances"][0]["InstanceId"]
    spec = {
        "instance_type": "t3.micro",
        "vpc_security_group_ids": [sgs[1], sgs[0]],
        "tags": {"Name": name, "env": "prod"},
    }
    return iid, spec, sgs[2]


def _rule(proto: str, lo: int, hi: int, desc: str | None = None, **source: list[str]) -> Any:
    return {"protocol": proto, "from_port": lo, "to_port": hi, "description": desc, **source}


def _sg(spec: dict[str, Any], attrs: dict[str, Any], **kw: Any) -> Any:
    base = {"description": "web", "vpc_id": "vpc-1", "ingress": [], "egress": [], "tags": []}
    return pure_target(
        "aws_security_group", spec, {**base, **attrs}, rid="web", live_id=GID, names=("web",), **kw
    )


# --- aws_security_group: pure plans -------------------------------------------------------


def test_rules_authorize_missing_then_update_descriptions_then_revoke_extra() -> None:
    target = _sg(
        {
            "ingress": [
                {"protocol": "tcp", "from_port": 443, "to_port": 443,
                 "cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"], "description": "office"},
                {"protocol": "tcp", "from_port": 22, "to_port": 22, "self": True},
                {"protocol": "-1", "ipv6_cidr_blocks": ["::/0"]},
            ]
        },
        {
            "ingress": [
                _rule("tcp", 443, 443, "old", cidr_blocks=["10.0.0.0/8"]),
                _rule("tcp", 22, 22, security_groups=[GID]),
                _rule("tcp", 3389, 3389, "rdp", cidr_blocks=["0.0.0.0/0"]),
                _rule("tcp", 80, 80, prefix_list_ids=["pl-1"]),
            ]
        },
    )  # fmt: skip
    out = plan(target)
    assert [c.operation for c in out.calls] == [
        "authorize_security_group_ingress",
        "update_security_group_rule_descriptions_ingress",
        "revoke_security_group_ingress",
    ]
    authorize, describe, revoke = out.calls
    assert authorize.params == {
        "GroupId": GID,
        "IpPermissions": [
            {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "192.168.0.0/16", "Description": "office"}],
            },
        ],
    }
    assert authorize.fixes == ('ingress["-1 0-0 ::/0"]', 'ingress["tcp 443-443 192.168.0.0/16"]')
    assert describe.params["IpPermissions"] == [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "office"}],
        }
    ]
    assert describe.fixes == ('ingress["tcp 443-443 10.0.0.0/8"].description',)
    # Revoked by protocol, ports and source; descriptions are not part of the match.
    assert revoke.params["IpPermissions"] == [
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "PrefixListIds": [{"PrefixListId": "pl-1"}]},
    ]  # fmt: skip
    assert set(out.fixes) == {c.path for c in target.changes}
    assert out.not_revertible == []


def test_a_description_declared_away_is_cleared_with_an_empty_one() -> None:
    target = _sg(
        {"ingress": [{"protocol": "tcp", "from_port": 22, "to_port": 22, "self": True}]},
        {"ingress": [_rule("tcp", 22, 22, "ssh", security_groups=[GID])]},
    )
    [describe] = plan(target).calls
    assert describe.params["IpPermissions"] == [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "UserIdGroupPairs": [{"GroupId": GID, "Description": ""}]}
    ]  # fmt: skip


def test_self_rules_name_the_group_itself_and_egress_uses_egress_calls() -> None:
    target = _sg(
        {"egress": [{"protocol": "udp", "from_port": 53, "to_port": 53, "self": True}]},
        {"egress": [_rule("-1", 0, 0, cidr_blocks=["0.0.0.0/0"])]},
    )
    authorize, revoke = plan(target).calls
    assert authorize.operation == "authorize_security_group_egress"
    assert authorize.params["IpPermissions"] == [
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "UserIdGroupPairs": [{"GroupId": GID}]}
    ]
    assert revoke.operation == "revoke_security_group_egress"
    assert revoke.params["IpPermissions"] == [
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ]


def test_rules_an_ignore_rule_hides_are_left_alone() -> None:
    target = _sg(
        {"ingress": [{"protocol": "tcp", "from_port": 443, "to_port": 443, "self": True}]},
        {
            "ingress": [
                _rule("tcp", 443, 443, security_groups=[GID]),
                _rule("tcp", 22, 22, cidr_blocks=["10.9.0.0/16"]),
                _rule("tcp", 80, 80, cidr_blocks=["0.0.0.0/0"]),
            ]
        },
        ignore=('ingress["tcp 22-22 *"]',),
    )
    [revoke] = plan(target).calls
    assert revoke.params["IpPermissions"] == [
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ]


def test_sg_tags_set_and_delete_only_drifted_keys() -> None:
    target = _sg(
        {"tags": {"team": "web", "cost": 7}},
        {"tags": [{"Key": "team", "Value": "api"}, {"Key": "cost", "Value": "7"},
                  {"Key": "owner", "Value": "bob"}, {"Key": "aws:cloudformation:stack-name",
                                                      "Value": "s"}]},
    )  # fmt: skip
    create, delete = plan(target).calls
    assert (create.operation, create.params) == (
        "create_tags",
        {"Resources": [GID], "Tags": [{"Key": "team", "Value": "web"}]},
    )
    assert create.fixes == ("tags.team",)
    # AWS's own aws: tags are never touched (nobody may remove them).
    assert (delete.operation, delete.params) == (
        "delete_tags",
        {"Resources": [GID], "Tags": [{"Key": "owner"}]},
    )


def test_sg_tags_declared_empty_remove_every_tag_but_aws_ones() -> None:
    target = _sg(
        {"tags": {}},
        {"tags": [{"Key": "team", "Value": "api"}, {"Key": "aws:autoscaling:groupName",
                                                    "Value": "g"}]},
    )  # fmt: skip
    [delete] = plan(target).calls
    assert delete.params == {"Resources": [GID], "Tags": [{"Key": "team"}]}


def test_rules_declared_empty_revoke_every_rule() -> None:
    target = _sg(
        {"egress": []},
        {"egress": [_rule("-1", 0, 0, cidr_blocks=["0.0.0.0/0"]),
                    _rule("tcp", 443, 443, ipv6_cidr_blocks=["::/0"])]},
    )  # fmt: skip
    rules = ('egress["-1 0-0 0.0.0.0/0"]', 'egress["tcp 443-443 ::/0"]')
    assert target.paths("egress") == rules  # one change per rule, even against none
    [revoke] = plan(target).calls
    assert revoke.fixes == rules
    assert revoke.params["IpPermissions"] == [
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    ]


def test_sg_description_and_vpc_are_refused_with_why() -> None:
    out = plan(_sg({"description": "api", "vpc_id": "vpc-2"}, {}))
    assert out.calls == []
    why = {r.path: r.why for r in out.not_revertible}
    assert "cannot change in place: re-create the group (pipeline mode)" in why["description"]
    assert "another VPC" in why["vpc_id"]


def test_sg_delete_plans_one_call_and_refuses_the_default_group() -> None:
    remediator = remediators.get("aws_security_group")()
    [call] = checked(remediator.delete(_sg({}, {}).live)).calls
    assert (call.operation, call.params, call.fixes) == (
        "delete_security_group",
        {"GroupId": GID},
        ("(resource)",),
    )
    default = _sg({}, {}).live
    default.names = ("default",)
    refused = remediator.delete(default)
    assert refused.calls == [] and "default" in refused.not_revertible[0].why


# --- aws_instance: pure plans --------------------------------------------------------------

IID = "i-0123456789abcdef0"


def _inst(spec: dict[str, Any], state: str = "running", **attrs: Any) -> Any:
    base = {
        "instance_type": "t3.micro",
        "ami": "ami-1",
        "subnet_id": "subnet-1",
        "vpc_security_group_ids": ["sg-a"],
        "monitoring": True,
        "tags": [{"Key": "Name", "Value": "web"}],
    }
    return pure_target(
        "aws_instance",
        spec,
        {**base, **attrs},
        rid="web",
        live_id=IID,
        names=("web",),
        listed={"state": state},
    )


def test_instance_tags_groups_and_monitoring_in_place() -> None:
    target = _inst(
        {
            "tags": {"Name": "web", "env": "prod"},
            "vpc_security_group_ids": ["sg-b", "sg-a", "sg-b"],
            "monitoring": False,
        }
    )
    out = plan(target)
    assert [(c.operation, c.params) for c in out.calls] == [
        ("create_tags", {"Resources": [IID], "Tags": [{"Key": "env", "Value": "prod"}]}),
        ("modify_instance_attribute", {"InstanceId": IID, "Groups": ["sg-a", "sg-b"]}),
        ("unmonitor_instances", {"InstanceIds": [IID]}),
    ]
    on = plan(_inst({"monitoring": True}, monitoring=False)).calls
    assert [c.operation for c in on] == ["monitor_instances"]


def test_instance_type_of_a_stopped_instance_is_one_call() -> None:
    [call] = plan(_inst({"instance_type": "t3.large"}, state="stopped")).calls
    assert call.params == {"InstanceId": IID, "InstanceType": {"Value": "t3.large"}}
    assert call.fixes == ("instance_type",)


def test_instance_type_of_a_running_instance_needs_stop_start() -> None:
    target = _inst({"instance_type": "t3.large"})
    refused = plan(target)
    assert refused.calls == []
    assert "stopped instance only" in refused.not_revertible[0].why
    assert "stop_start" in refused.not_revertible[0].why
    stop, change, start = plan(target, "stop_start").calls
    assert (stop.operation, stop.waiter) == ("stop_instances", "instance_stopped")
    assert "stop, change, start" in stop.note
    assert stop.shown()["waiter"] == "instance_stopped"
    assert change.operation == "modify_instance_attribute"
    assert (start.operation, start.waiter) == ("start_instances", "instance_running")
    assert {c.fixes for c in (stop, change, start)} == {("instance_type",)}
    assert [o.name for o in remediators.get("aws_instance").options] == ["stop_start"]


def test_instance_type_while_stopping_is_refused_even_with_stop_start() -> None:
    out = plan(_inst({"instance_type": "t3.large"}, state="stopping"), "stop_start")
    assert out.calls == [] and "the instance is stopping" in out.not_revertible[0].why


def test_instance_ami_subnet_and_an_empty_group_set_are_refused() -> None:
    out = plan(_inst({"ami": "ami-2", "subnet_id": "subnet-2", "vpc_security_group_ids": []}))
    assert out.calls == []
    why = {r.path: r.why for r in out.not_revertible}
    assert set(why) == {"ami", "subnet_id", "vpc_security_group_ids"}
    assert "replace the instance (pipeline mode)" in why["ami"]


# --- real round trips on the moto server ----------------------------------------------------


def test_sg_round_trip_revokes_authorizes_redescribes_and_retags(aws: Aws) -> None:
    gid, spec, _ = seed.security_group(aws, "rt-web")
    ec2 = aws.client("ec2")
    ec2.revoke_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
        ],
    )  # fmt: skip
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "oops"}]}
        ],
    )  # fmt: skip
    ec2.update_security_group_rule_descriptions_ingress(
        GroupId=gid,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "192.168.0.0/16", "Description": "home"}]}
        ],
    )  # fmt: skip
    ec2.update_security_group_rule_descriptions_egress(
        GroupId=gid,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
             "IpRanges": [{"CidrIp": "10.1.0.0/16", "Description": "declared without"}]}
        ],
    )  # fmt: skip
    ec2.authorize_security_group_egress(
        GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    ec2.create_tags(
        Resources=[gid], Tags=[{"Key": "team", "Value": "api"}, {"Key": "owner", "Value": "bob"}]
    )
    spec = {k: spec[k] for k in ("ingress", "egress", "tags")}
    out = revert(aws, "aws_security_group", "rt-web", spec)
    assert [c.operation for c in out.calls] == [
        "authorize_security_group_ingress",
        "update_security_group_rule_descriptions_ingress",
        "revoke_security_group_ingress",
        "update_security_group_rule_descriptions_egress",
        "revoke_security_group_egress",
        "create_tags",
        "delete_tags",
    ]


def test_sg_round_trip_refuses_the_description(aws: Aws) -> None:
    gid, spec, _ = seed.security_group(aws, "rt-desc")
    out = plan(read_target(aws, "aws_security_group", gid, {**spec, "description": "new"}))
    assert out.calls == [] and [r.path for r in out.not_revertible] == ["description"]


def test_sg_delete_unmanaged_on_moto(aws: Aws) -> None:
    ec2 = aws.client("ec2")
    gid = ec2.create_security_group(GroupName="stray", Description="stray")["GroupId"]
    live = read_live(aws, "aws_security_group", gid)
    assert execute(aws, remediators.get("aws_security_group")().delete(live)) == [
        "delete_security_group"
    ]
    names = [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]]
    assert "stray" not in names


def test_instance_round_trip_tags_and_groups(aws: Aws, ami: str) -> None:
    iid, spec, spare = _instance(aws, "rt-app", ami)
    ec2 = aws.client("ec2")
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "env", "Value": "dev"}])
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "owner", "Value": "bob"}])
    ec2.modify_instance_attribute(InstanceId=iid, Groups=[spare])
    out = revert(aws, "aws_instance", "rt-app", spec)
    assert [c.operation for c in out.calls] == [
        "create_tags",
        "delete_tags",
        "modify_instance_attribute",
    ]


def test_instance_monitoring_planned_from_a_real_read(aws: Aws, ami: str) -> None:
    # moto 5.2 implements neither MonitorInstances nor UnmonitorInstances (it raises
    # NotImplementedError): the plan is checked from a real read, not executed.
    iid, _, _ = _instance(aws, "rt-mon", ami)
    [call] = plan(read_target(aws, "aws_instance", iid, {"monitoring": True})).calls
    assert (call.operation, call.params) == ("monitor_instances", {"InstanceIds": [iid]})


def test_instance_type_round_trip_stop_change_start(aws: Aws, ami: str) -> None:
    iid, _, _ = _instance(aws, "rt-type", ami)
    ec2 = aws.client("ec2")
    ec2.stop_instances(InstanceIds=[iid])
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.large"})
    ec2.start_instances(InstanceIds=[iid])
    declared = {"instance_type": "t3.micro"}
    refused = plan(read_target(aws, "aws_instance", iid, declared))
    assert refused.calls == [] and "stop_start" in refused.not_revertible[0].why
    out = revert(aws, "aws_instance", iid, declared, "stop_start")
    assert [c.operation for c in out.calls] == [
        "stop_instances",
        "modify_instance_attribute",
        "start_instances",
    ]
    assert read_live(aws, "aws_instance", iid).listed["state"] == "running"


def test_instance_type_round_trip_when_stopped(aws: Aws, ami: str) -> None:
    iid, _, _ = _instance(aws, "rt-stopped", ami)
    ec2 = aws.client("ec2")
    ec2.stop_instances(InstanceIds=[iid])
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.large"})
    out = revert(aws, "aws_instance", iid, {"instance_type": "t3.micro"})
    assert [c.operation for c in out.calls] == ["modify_instance_attribute"]
    assert read_live(aws, "aws_instance", iid).listed["state"] == "stopped"


def test_instance_launch_attributes_refused_on_a_real_read(aws: Aws, ami: str) -> None:
    iid, _, _ = _instance(aws, "rt-launch", ami)
    spec = {"ami": "ami-00000000000000000", "subnet_id": "subnet-00000000000000000"}
    out = plan(read_target(aws, "aws_instance", iid, spec))
    assert out.calls == [] and [r.path for r in out.not_revertible] == ["ami", "subnet_id"]


# --- recorded real-AWS shapes (tests/fixtures/real_aws) ------------------------------------


def test_rules_as_real_aws_returns_them_are_revoked_without_the_ports_it_ignores() -> None:
    live = replayed("aws_security_group", "ingress", "ec2/describe_security_groups_portless.json")
    spec = {
        "ingress": [{"protocol": "udp", "from_port": 4500, "to_port": 4500,
                     "cidr_blocks": ["203.0.113.0/24"]}],
        "egress": [{"protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}],
    }  # fmt: skip
    [revoke] = plan(target_of(declared("aws_security_group", "vpn", spec), live)).calls
    vpn, gid = [{"CidrIp": "203.0.113.0/24"}], live.id
    assert revoke.params["IpPermissions"] == [
        {"IpProtocol": "47", "UserIdGroupPairs": [{"GroupId": gid}]},
        {"IpProtocol": "50", "IpRanges": vpn},
        {"IpProtocol": "51", "IpRanges": vpn},
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        {"IpProtocol": "icmpv6", "FromPort": 128, "ToPort": 0,
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "tcp", "FromPort": 500, "ToPort": 500,
         "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}]},
    ]  # fmt: skip


@pytest.mark.parametrize("rtype", ["aws_security_group", "aws_instance"])
def test_real_aws_reserved_tags_are_never_in_a_plan(rtype: str) -> None:
    live = replayed(rtype, "tags", f"tags/{rtype}.json")
    assert any(t["Key"].startswith("aws:") for t in live.attrs["tags"])
    out = plan(target_of(declared(rtype, live.id, {"tags": {}}), live))
    [delete] = out.calls
    assert delete.operation == "delete_tags"
    assert [t["Key"] for t in delete.params["Tags"]] == ["cost-center", "team"]
