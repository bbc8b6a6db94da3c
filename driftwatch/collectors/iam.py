"""IAM collectors (global: one scope per account)."""

from __future__ import annotations

from typing import Any

from driftwatch.collectors.base import LISTED, Collector, paginate, register
from driftwatch.models import LiveResource, Scope
from driftwatch.schema import Attr, Int, Policy, PolicyMap, Str, StrSet, Tags

_AWS_PATHS = ("/aws-service-role/", "/aws-reserved/")


@register
class IamRole(Collector):
    """An IAM role, identified by its name; global. Service-linked and AWS-reserved roles
    (paths under `/aws-service-role/` and `/aws-reserved/`) are never unmanaged."""

    type = "aws_iam_role"
    service = "iam"
    identity = "role name (global)"
    is_global = True
    not_found_codes = ("NoSuchEntity",)
    attributes = {
        "assume_role_policy": Attr(Policy(), LISTED, "Trust policy, compared semantically."),
        "description": Attr(Str(empty_is_null=True), LISTED, "Role description."),
        "path": Attr(Str(), LISTED, "Role path, `/` by default."),
        "max_session_duration": Attr(Int(), LISTED, "Maximum session duration in seconds."),
        "managed_policy_arns": Attr(StrSet(), "attached", "Attached managed policy ARNs, a set."),
        "inline_policies": Attr(
            PolicyMap(),
            "inline",
            "Inline policies as `{name: document}`; the whole mapping is compared.",
        ),
        "tags": Attr(Tags(), "tags", "Tags as a mapping."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        return [
            LiveResource(
                self.type,
                r["RoleName"],
                scope.account,
                scope.region,
                listed={"path": r.get("Path", "/")},
                attrs={
                    "assume_role_policy": r.get("AssumeRolePolicyDocument"),
                    "description": r.get("Description"),
                    "path": r.get("Path", "/"),
                    "max_session_duration": r.get("MaxSessionDuration", 3600),
                },
            )
            for r in paginate(client, "list_roles", "Roles")
        ]

    def aws_managed(self, live: LiveResource) -> bool:
        return live.listed["path"].startswith(_AWS_PATHS)

    def read_attached(self, client: Any, live: LiveResource) -> dict[str, Any]:
        items = paginate(
            client, "list_attached_role_policies", "AttachedPolicies", RoleName=live.id
        )
        return {"managed_policy_arns": [p["PolicyArn"] for p in items]}

    def read_inline(self, client: Any, live: LiveResource) -> dict[str, Any]:
        names = list(paginate(client, "list_role_policies", "PolicyNames", RoleName=live.id))
        return {
            "inline_policies": {
                n: client.get_role_policy(RoleName=live.id, PolicyName=n)["PolicyDocument"]
                for n in names
            }
        }

    def read_tags(self, client: Any, live: LiveResource) -> dict[str, Any]:
        return {"tags": list(paginate(client, "list_role_tags", "Tags", RoleName=live.id))}
