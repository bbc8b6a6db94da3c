"""Reverts for SNS topics: one SetTopicAttributes per attribute, tags; deleting unmanaged topics."""

from __future__ import annotations

import json

from driftwatch.models import LiveResource
from driftwatch.remediators.base import WHOLE, Call, Remediator, RevertPlan, Target, register
from driftwatch.remediators.tagging import key_paths, tag_delta, tag_list

_ATTRIBUTES = {
    "display_name": "DisplayName",
    "kms_master_key_id": "KmsMasterKeyId",
    "policy": "Policy",
}


@register
class SnsTopicRemediator(Remediator):
    """Every declared SNS topic attribute can be put back; a topic's policy cannot be removed."""

    type = "aws_sns_topic"
    order = ("policy", "kms_master_key_id", "display_name", "tags")

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        arn, fixes = target.live.listed["arn"], target.paths(attr)
        if attr == "policy" and target.want.get("policy") is None:
            out.refuse(
                attr,
                "every SNS topic has an access policy (AWS sets a default one); declare the "
                "policy the topic should have",
            )
        elif attr in _ATTRIBUTES:
            value = _attribute_value(attr, target)
            out.add(
                Call(
                    "sns",
                    "set_topic_attributes",
                    {"TopicArn": arn, "AttributeName": _ATTRIBUTES[attr], "AttributeValue": value},
                    fixes,
                    note="" if value else f"an empty {_ATTRIBUTES[attr]} removes it",
                )
            )
        elif attr == "tags":
            _tags(arn, target, out)
        else:
            super().plan_attr(attr, target, options, out)

    def delete(self, live: LiveResource) -> RevertPlan:
        out = RevertPlan()
        out.add(
            Call(
                "sns",
                "delete_topic",
                {"TopicArn": live.listed["arn"]},
                (WHOLE,),
                note="deletes the topic and all its subscriptions",
            )
        )
        return out


def _attribute_value(attr: str, target: Target) -> str:
    want = target.want.get(attr)
    if want is None:
        return ""
    if attr == "policy":
        declared = target.declared.spec.get("policy")  # as written in Git
        return declared if isinstance(declared, str) else json.dumps(declared, sort_keys=True)
    return str(want)


def _tags(arn: str, target: Target, out: RevertPlan) -> None:
    delta = tag_delta(target)
    if delta.remove:
        removed = {"ResourceArn": arn, "TagKeys": delta.remove}
        out.add(Call("sns", "untag_resource", removed, key_paths(target, delta.remove)))
    if delta.put:
        put = {"ResourceArn": arn, "Tags": tag_list(delta.put)}
        out.add(Call("sns", "tag_resource", put, key_paths(target, delta.put)))
