"""Reverts for IAM (global: every call goes to the IAM endpoint in us-east-1).

Roles: trust policy, description, maximum session duration, managed and inline
policies, tags. Policies: a new default version (pruning the oldest non-default one
at IAM's limit of five), tags. Users: path, tags, managed policies, groups.
"""

from __future__ import annotations

import json
from typing import Any

from driftwatch.aws import GLOBAL_API_REGION
from driftwatch.models import LiveResource
from driftwatch.remediators.base import WHOLE, Call, Remediator, RevertPlan, Target, register
from driftwatch.remediators.sets import key_paths, map_diff, set_diff

MAX_VERSIONS = 5  # IAM keeps at most five versions of a managed policy
_AWS_PATHS = ("/aws-service-role/", "/aws-reserved/")


def _call(operation: str, params: dict[str, Any], fixes: tuple[str, ...], note: str = "") -> Call:
    return Call("iam", operation, params, fixes, note=note, region=GLOBAL_API_REGION)


def _document(declared: Any) -> str:
    """A declared policy document as IAM takes it: JSON text (written as declared)."""
    return declared if isinstance(declared, str) else json.dumps(declared, sort_keys=True)


def _fixed_at_creation(what: str) -> str:
    return f"IAM sets a {what} at creation and cannot change it: re-create it (pipeline mode)"


@register
class IamRoleRemediator(Remediator):
    """Every declared role attribute changes in place except its path."""

    type = "aws_iam_role"
    # Within managed and inline policies, what is missing is granted before what is extra
    # is taken away: the role never holds less than both ends of the revert allow.
    order = (
        "assume_role_policy",
        "description",
        "max_session_duration",
        "managed_policy_arns",
        "inline_policies",
        "tags",
    )
    delete_reads = ("attached", "inline", "instance_profiles")

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        role, fixes = {"RoleName": target.live.id}, target.paths(attr)
        if attr == "assume_role_policy":
            document = _document(target.declared.spec[attr])
            out.add(_call("update_assume_role_policy", {**role, "PolicyDocument": document}, fixes))
        elif attr in ("description", "max_session_duration"):
            _update_role(attr, target, out)
        elif attr == "managed_policy_arns":
            _managed(target, role, ("attach_role_policy", "detach_role_policy"), out)
        elif attr == "inline_policies":
            _inline(target, role, out)
        elif attr == "tags":
            _tags(target, role, ("tag_role", "untag_role"), out)
        elif attr == "path":
            out.refuse(attr, _fixed_at_creation("role's path"))
        else:
            super().plan_attr(attr, target, options, out)

    def delete(self, live: LiveResource) -> RevertPlan:
        out = RevertPlan()
        if str(live.listed.get("path", "/")).startswith(_AWS_PATHS):
            out.refuse(WHOLE, "service-linked and AWS-reserved roles belong to AWS")
            return out
        needed = ("managed_policy_arns", "inline_policies", "instance_profiles")
        unread = [k for k in needed if k not in live.attrs]
        if unread:
            out.refuse(WHOLE, f"the role's {', '.join(unread)} were not read; plan again")
            return out
        role = {"RoleName": live.id}
        why = "IAM deletes only a role with no instance profile and no policies"
        for profile in sorted(live.attrs["instance_profiles"]):
            params = {"InstanceProfileName": profile, **role}
            out.add(_call("remove_role_from_instance_profile", params, (WHOLE,), why))
        for arn in sorted(live.attrs["managed_policy_arns"]):
            out.add(_call("detach_role_policy", {**role, "PolicyArn": arn}, (WHOLE,), why))
        for name in sorted(live.attrs["inline_policies"]):
            out.add(_call("delete_role_policy", {**role, "PolicyName": name}, (WHOLE,), why))
        out.add(_call("delete_role", role, (WHOLE,)))
        return out


def _update_role(attr: str, target: Target, out: RevertPlan) -> None:
    """One UpdateRole for description and session duration, planned once for both."""
    drifted = [a for a in ("description", "max_session_duration") if a in target.drifted]
    if attr != drifted[0]:
        return

    def value(name: str) -> Any:
        # UpdateRole may reset what it is not given (moto does): send the one that
        # did not drift as it is live, so that it stays as it is.
        return target.want.get(name) if name in drifted else target.live.attrs.get(name)

    params: dict[str, Any] = {"RoleName": target.live.id}
    if value("description") is not None or "description" in drifted:
        params["Description"] = value("description") or ""
    if value("max_session_duration") is not None:
        params["MaxSessionDuration"] = value("max_session_duration")
    fixes = tuple(p for a in drifted for p in target.paths(a))
    out.add(_call("update_role", params, fixes))


def _managed(
    target: Target, who: dict[str, str], operations: tuple[str, str], out: RevertPlan
) -> None:
    """Attach what is missing, then detach what is extra (one call per policy: IAM's API)."""
    attach, detach = operations
    missing, extra = set_diff(target, "managed_policy_arns")
    fixes = target.paths("managed_policy_arns")
    for arn in missing:
        out.add(_call(attach, {**who, "PolicyArn": arn}, fixes))
    for arn in extra:
        out.add(_call(detach, {**who, "PolicyArn": arn}, fixes))


def _inline(target: Target, role: dict[str, str], out: RevertPlan) -> None:
    diff = map_diff(target, "inline_policies")
    declared = {str(k): v for k, v in (target.declared.spec.get("inline_policies") or {}).items()}
    for name in diff.put:
        params = {**role, "PolicyName": name, "PolicyDocument": _document(declared[name])}
        out.add(_call("put_role_policy", params, key_paths(target, "inline_policies", [name])))
    for name in diff.remove:
        fixes = key_paths(target, "inline_policies", [name])
        out.add(_call("delete_role_policy", {**role, "PolicyName": name}, fixes))


def _tags(
    target: Target, who: dict[str, str], operations: tuple[str, str], out: RevertPlan
) -> None:
    tag, untag = operations
    diff = map_diff(target, "tags")
    if diff.put:
        tags = [{"Key": k, "Value": v} for k, v in diff.put.items()]
        out.add(_call(tag, {**who, "Tags": tags}, key_paths(target, "tags", diff.put)))
    if diff.remove:
        fixes = key_paths(target, "tags", diff.remove)
        out.add(_call(untag, {**who, "TagKeys": diff.remove}, fixes))


@register
class IamPolicyRemediator(Remediator):
    """The document (as a new default version) and tags; description and path never."""

    type = "aws_iam_policy"
    order = ("policy", "tags")
    reads = ("versions",)

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        arn = {"PolicyArn": target.live.listed["arn"]}
        if attr == "policy":
            _policy_version(target, arn, out)
        elif attr == "tags":
            _tags(target, arn, ("tag_policy", "untag_policy"), out)
        elif attr in ("description", "path"):
            out.refuse(attr, _fixed_at_creation(f"policy's {attr}"))
        else:
            super().plan_attr(attr, target, options, out)


def _policy_version(target: Target, arn: dict[str, str], out: RevertPlan) -> None:
    versions = target.live.attrs.get("versions")
    fixes = target.paths("policy")
    if versions is None:
        out.refuse("policy", "the policy's versions were not read; plan again")
        return
    if len(versions) >= MAX_VERSIONS:
        old = [v for v in versions if not v["default"]]
        oldest = min(old, key=lambda v: (v["created"], _version_number(v["id"])))
        note = (
            f"IAM keeps at most {MAX_VERSIONS} versions: prunes {oldest['id']}, the oldest "
            f"non-default version (created {oldest['created']})"
        )
        params = {**arn, "VersionId": oldest["id"]}
        out.add(_call("delete_policy_version", params, fixes, note))
    document = _document(target.declared.spec["policy"])
    params = {**arn, "PolicyDocument": document, "SetAsDefault": True}
    out.add(_call("create_policy_version", params, fixes, "a new version, made the default"))


def _version_number(version_id: str) -> int:
    digits = version_id.lstrip("v")
    return int(digits) if digits.isdigit() else 0


@register
class IamUserRemediator(Remediator):
    """Path, tags, managed policies and groups all change in place."""

    type = "aws_iam_user"
    order = ("path", "managed_policy_arns", "groups", "tags")

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        user, fixes = {"UserName": target.live.id}, target.paths(attr)
        if attr == "path":
            out.add(_call("update_user", {**user, "NewPath": target.want[attr]}, fixes))
        elif attr == "managed_policy_arns":
            _managed(target, user, ("attach_user_policy", "detach_user_policy"), out)
        elif attr == "groups":
            missing, extra = set_diff(target, attr)
            for group in missing:
                out.add(_call("add_user_to_group", {**user, "GroupName": group}, fixes))
            for group in extra:
                out.add(_call("remove_user_from_group", {**user, "GroupName": group}, fixes))
        elif attr == "tags":
            _tags(target, user, ("tag_user", "untag_user"), out)
        else:
            super().plan_attr(attr, target, options, out)
