"""IAM collectors (global: one scope per account)."""

from __future__ import annotations

from typing import Any

from driftwatch.collectors.base import LISTED, Collector, is_code, paginate, register
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

    # One GetAccountAuthorizationDetails reads every role's attached, inline and tag
    # data; it pays off once per-role reads would exceed ~0.3 calls per listed role
    # (bench/iam_authz_bench.py: 200 declared roles, 802 calls/6 s → 3 calls/0.5 s).
    batch_sources = frozenset({"attached", "inline", "tags"})

    def batch_worthwhile(self, wanted: dict[str, list[str]], listed: int) -> bool:
        # An inline read is one list call plus one call per policy: count it as two.
        calls = sum(len(s) + ("inline" in s) for s in wanted.values())
        return calls >= max(3, 0.3 * listed)

    def read_batch(self, client: Any, ids: set[str]) -> dict[str, dict[str, Any]]:
        out = {}
        for role in paginate(
            client, "get_account_authorization_details", "RoleDetailList", Filter=["Role"]
        ):
            if role["RoleName"] in ids:
                out[role["RoleName"]] = {
                    "managed_policy_arns": [
                        p["PolicyArn"] for p in role.get("AttachedManagedPolicies", [])
                    ],
                    "inline_policies": {
                        p["PolicyName"]: p["PolicyDocument"] for p in role.get("RolePolicyList", [])
                    },
                    "tags": role.get("Tags", []),
                }
        return out

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

    def read_instance_profiles(self, client: Any, live: LiveResource) -> dict[str, Any]:
        """Read only to delete an unmanaged role (no attribute is fed by it)."""
        items = paginate(
            client, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=live.id
        )
        return {"instance_profiles": [p["InstanceProfileName"] for p in items]}


@register
class IamPolicy(Collector):
    """A customer-managed IAM policy, identified by its name; global.

    Only customer-managed policies are listed (`ListPolicies(Scope=Local)`), so AWS-managed
    policies are never unmanaged; policies that service consoles create in the account
    (e.g. under `/service-role/`) are customer-managed and are reported unmanaged.
    """

    type = "aws_iam_policy"
    service = "iam"
    identity = "policy name (global; customer-managed policies only)"
    is_global = True
    not_found_codes = ("NoSuchEntity",)
    attributes = {
        "policy": Attr(
            Policy(), "document", "Document of the default version, compared semantically."
        ),
        "description": Attr(
            Str(empty_is_null=True), "details", 'Policy description; `""` equals none.'
        ),
        "path": Attr(Str(), LISTED, "Policy path, `/` by default."),
        "tags": Attr(Tags(), "details", "Tags as a mapping."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        return [
            LiveResource(
                self.type,
                p["PolicyName"],
                scope.account,
                scope.region,
                listed={"arn": p["Arn"], "default_version": p["DefaultVersionId"]},
                attrs={"path": p.get("Path", "/")},
            )
            for p in paginate(client, "list_policies", "Policies", Scope="Local")
        ]

    def read_document(self, client: Any, live: LiveResource) -> dict[str, Any]:
        arn = live.listed["arn"]
        try:
            version = client.get_policy_version(
                PolicyArn=arn, VersionId=live.listed["default_version"]
            )
        except Exception as exc:
            # The listed default version was replaced and deleted since the listing:
            # ask for the current one (NoSuchEntity again means the policy is gone).
            if not is_code(exc, "NoSuchEntity"):
                raise
            current = client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            version = client.get_policy_version(PolicyArn=arn, VersionId=current)
        return {"policy": version["PolicyVersion"]["Document"]}

    def read_details(self, client: Any, live: LiveResource) -> dict[str, Any]:
        # ListPolicies returns neither the description nor the tags; GetPolicy returns both.
        policy = client.get_policy(PolicyArn=live.listed["arn"])["Policy"]
        return {"description": policy.get("Description"), "tags": policy.get("Tags", [])}

    def read_versions(self, client: Any, live: LiveResource) -> dict[str, Any]:
        """Read only to revert the document (no attribute is fed by it): IAM keeps five."""
        items = paginate(client, "list_policy_versions", "Versions", PolicyArn=live.listed["arn"])
        return {
            "versions": [
                {
                    "id": v["VersionId"],
                    "default": bool(v.get("IsDefaultVersion")),
                    "created": v["CreateDate"].isoformat(),
                }
                for v in items
            ]
        }

    def summary(self, live: LiveResource) -> dict[str, Any]:
        return {"id": live.id, "arn": live.listed["arn"], "path": live.attrs["path"]}


@register
class IamUser(Collector):
    """An IAM user, identified by its name; global. AWS creates no IAM users by itself,
    so every undeclared user is unmanaged."""

    type = "aws_iam_user"
    service = "iam"
    identity = "user name (global)"
    is_global = True
    not_found_codes = ("NoSuchEntity",)
    attributes = {
        "path": Attr(Str(), LISTED, "User path, `/` by default."),
        "tags": Attr(Tags(), "tags", "Tags as a mapping."),
        "managed_policy_arns": Attr(StrSet(), "attached", "Attached managed policy ARNs, a set."),
        "groups": Attr(StrSet(), "groups", "Names of the groups the user belongs to, a set."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        return [
            LiveResource(
                self.type,
                u["UserName"],
                scope.account,
                scope.region,
                listed={"arn": u["Arn"]},
                attrs={"path": u.get("Path", "/")},
            )
            for u in paginate(client, "list_users", "Users")
        ]

    def read_tags(self, client: Any, live: LiveResource) -> dict[str, Any]:
        return {"tags": list(paginate(client, "list_user_tags", "Tags", UserName=live.id))}

    def read_attached(self, client: Any, live: LiveResource) -> dict[str, Any]:
        items = paginate(
            client, "list_attached_user_policies", "AttachedPolicies", UserName=live.id
        )
        return {"managed_policy_arns": [p["PolicyArn"] for p in items]}

    def read_groups(self, client: Any, live: LiveResource) -> dict[str, Any]:
        items = paginate(client, "list_groups_for_user", "Groups", UserName=live.id)
        return {"groups": [g["GroupName"] for g in items]}

    def summary(self, live: LiveResource) -> dict[str, Any]:
        return {"id": live.id, "arn": live.listed["arn"], "path": live.attrs["path"]}
