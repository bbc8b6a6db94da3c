"""EC2 collectors: security groups and instances."""

from __future__ import annotations

from typing import Any

from driftwatch.collectors.base import LISTED, Collector, paginate, register, tag_value
from driftwatch.models import DeclaredResource, LiveResource, Scope
from driftwatch.schema import Attr, Bool, Ctx, Rules, Str, StrSet, Tags

# A region with thousands of instances or groups answers a single unpaged call slowly
# enough to time out; pages of 1000 (the largest EC2 allows) keep each call short.
_PAGES = {"PaginationConfig": {"PageSize": 1000}}
_SOURCES = (
    ("IpRanges", "CidrIp", "cidr_blocks"),
    ("Ipv6Ranges", "CidrIpv6", "ipv6_cidr_blocks"),
    ("UserIdGroupPairs", "GroupId", "security_groups"),
    ("PrefixListIds", "PrefixListId", "prefix_list_ids"),
)


def terraform_rules(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AWS IpPermissions → Terraform-shaped rules, one per source."""
    rules = []
    for perm in permissions:
        base = {
            "protocol": perm["IpProtocol"],
            "from_port": perm.get("FromPort"),
            "to_port": perm.get("ToPort"),
        }
        for aws_key, id_key, tf_key in _SOURCES:
            for src in perm.get(aws_key, []):
                rules.append({**base, tf_key: [src[id_key]], "description": src.get("Description")})
    return rules


@register
class SecurityGroup(Collector):
    """A VPC security group, identified by its name in the region (or its `sg-…` id).

    When two groups share a name in different VPCs, a declared `vpc_id` picks one;
    without it the declared group is not checked (ambiguous). Groups named `default`
    are created by AWS with every VPC and are never reported as unmanaged.
    """

    type = "aws_security_group"
    service = "ec2"
    identity = "group name within the region, or the `sg-…` id"
    not_found_codes = ("InvalidGroup.NotFound",)
    attributes = {
        "description": Attr(Str(), LISTED, "Group description."),
        "vpc_id": Attr(Str(), LISTED, "VPC id; also narrows name matching."),
        "ingress": Attr(
            Rules(),
            LISTED,
            "Ingress rules as a set: `{protocol, from_port, to_port, cidr_blocks, "
            "ipv6_cidr_blocks, security_groups, prefix_list_ids, self, description}`.",
        ),
        "egress": Attr(Rules(), LISTED, "Egress rules, same shape as ingress."),
        "tags": Attr(Tags(), LISTED, "Tags as a mapping."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        return [
            LiveResource(
                self.type,
                g["GroupId"],
                scope.account,
                scope.region,
                names=(g["GroupName"],),
                listed={"vpc_id": g.get("VpcId")},
                attrs={
                    "description": g.get("Description", ""),
                    "vpc_id": g.get("VpcId"),
                    "ingress": terraform_rules(g.get("IpPermissions", [])),
                    "egress": terraform_rules(g.get("IpPermissionsEgress", [])),
                    "tags": g.get("Tags", []),
                },
            )
            for g in paginate(client, "describe_security_groups", "SecurityGroups", **_PAGES)
        ]

    def match(
        self, declared: DeclaredResource, candidates: list[LiveResource]
    ) -> list[LiveResource]:
        """By id, or by name; a declared `vpc_id` picks among groups sharing the name."""
        if declared.id.startswith("sg-"):
            return [c for c in candidates if c.id == declared.id]
        found = [c for c in candidates if declared.id in c.names]
        vpc = declared.spec.get("vpc_id")
        if len(found) > 1 and vpc:
            return [c for c in found if c.listed["vpc_id"] == vpc]
        return found

    def aws_managed(self, live: LiveResource) -> bool:
        return "default" in live.names

    def context(self, live: LiveResource) -> Ctx:
        return {"self_id": live.id}

    def summary(self, live: LiveResource) -> dict[str, Any]:
        return {"id": live.id, "name": live.names[0], "vpc_id": live.listed["vpc_id"]}


_GONE = ("terminated", "shutting-down")


@register
class Instance(Collector):
    """An EC2 instance, identified by its `Name` tag (or its `i-…` id); terminated = not live."""

    type = "aws_instance"
    service = "ec2"
    identity = "value of the `Name` tag, or the `i-…` id"
    not_found_codes = ("InvalidInstanceID.NotFound",)
    attributes = {
        "instance_type": Attr(Str(), LISTED, "Instance type, e.g. `t3.micro`."),
        "ami": Attr(Str(), LISTED, "AMI id the instance was launched from."),
        "subnet_id": Attr(Str(), LISTED, "Subnet id."),
        "vpc_security_group_ids": Attr(StrSet(), LISTED, "Security group ids, as a set."),
        "monitoring": Attr(Bool(), LISTED, "Detailed monitoring enabled."),
        "tags": Attr(Tags(), LISTED, "Tags as a mapping (the `Name` tag included)."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        out = []
        for reservation in paginate(client, "describe_instances", "Reservations", **_PAGES):
            for inst in reservation.get("Instances", []):
                if inst.get("State", {}).get("Name") in _GONE:
                    continue
                name = tag_value(inst.get("Tags"), "Name")
                out.append(
                    LiveResource(
                        self.type,
                        inst["InstanceId"],
                        scope.account,
                        scope.region,
                        names=(name,) if name else (),
                        # Not compared; a revert of the instance type depends on it.
                        listed={"state": inst.get("State", {}).get("Name")},
                        attrs={
                            "instance_type": inst.get("InstanceType"),
                            "ami": inst.get("ImageId"),
                            "subnet_id": inst.get("SubnetId"),
                            "vpc_security_group_ids": [
                                g["GroupId"] for g in inst.get("SecurityGroups", [])
                            ],
                            "monitoring": inst.get("Monitoring", {}).get("State")
                            in ("enabled", "pending"),
                            "tags": inst.get("Tags", []),
                        },
                    )
                )
        return out

    def summary(self, live: LiveResource) -> dict[str, Any]:
        return {
            "id": live.id,
            "name": live.names[0] if live.names else None,
            "instance_type": live.attrs["instance_type"],
        }
