"""Reverts for KMS keys: description, rotation, the key policy, tags."""

from __future__ import annotations

import json

from driftwatch.remediators.base import Call, Remediator, RevertPlan, Target, register
from driftwatch.remediators.tagging import key_paths, tag_delta, tag_list

_CANNOT_ROTATE = (
    "KMS rejects it for keys that cannot rotate (asymmetric, HMAC, imported key material, "
    "custom key store)"
)


@register
class KmsKeyRemediator(Remediator):
    """Description, rotation, policy and tags go back; key usage and deletion window cannot."""

    type = "aws_kms_key"
    order = ("policy", "enable_key_rotation", "description", "tags")

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        key, want, fixes = target.live.id, target.want.get(attr), target.paths(attr)
        if attr == "description":
            params = {"KeyId": key, "Description": want or ""}
            out.add(Call("kms", "update_key_description", params, fixes))
        elif attr == "enable_key_rotation":
            operation = "enable_key_rotation" if want else "disable_key_rotation"
            note = _CANNOT_ROTATE if want else ""
            out.add(Call("kms", operation, {"KeyId": key}, fixes, note=note))
        elif attr == "policy":
            _policy(key, target, fixes, out)
        elif attr == "key_usage":
            out.refuse(
                attr,
                "a key's usage is fixed when it is created: create a key with the declared "
                "usage and move the alias to it (pipeline mode)",
            )
        elif attr == "deletion_window_in_days":
            out.refuse(
                attr,
                "KMS fixes the waiting period when the deletion is scheduled: cancel the "
                "deletion (CancelKeyDeletion) and schedule it again with the declared window",
            )
        elif attr == "tags":
            _tags(key, target, out)
        else:
            super().plan_attr(attr, target, options, out)


def _policy(key: str, target: Target, fixes: tuple[str, ...], out: RevertPlan) -> None:
    declared = target.declared.spec.get("policy")  # as written in Git
    if target.want.get("policy") is None:
        out.refuse(
            "policy",
            "every KMS key has a key policy: declare the policy the key should have",
        )
        return
    document = declared if isinstance(declared, str) else json.dumps(declared, sort_keys=True)
    params = {"KeyId": key, "PolicyName": "default", "Policy": document}
    note = "KMS refuses a policy that would lock its caller out of the key"
    out.add(Call("kms", "put_key_policy", params, fixes, note=note))


def _tags(key: str, target: Target, out: RevertPlan) -> None:
    delta = tag_delta(target)
    if delta.remove:
        removed = {"KeyId": key, "TagKeys": delta.remove}
        out.add(Call("kms", "untag_resource", removed, key_paths(target, delta.remove)))
    if delta.put:
        put = {"KeyId": key, "Tags": tag_list(delta.put, "TagKey", "TagValue")}
        out.add(Call("kms", "tag_resource", put, key_paths(target, delta.put)))
