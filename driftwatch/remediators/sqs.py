"""Reverts for SQS queues: queue attributes, tags; deleting an unmanaged queue."""

from __future__ import annotations

import json

from driftwatch.models import LiveResource
from driftwatch.remediators.base import WHOLE, Call, Remediator, RevertPlan, Target, register
from driftwatch.remediators.tagging import key_paths, tag_delta

# Declared attribute → SetQueueAttributes name; an empty string removes the optional ones.
_ATTRIBUTES = {
    "visibility_timeout_seconds": "VisibilityTimeout",
    "message_retention_seconds": "MessageRetentionPeriod",
    "delay_seconds": "DelaySeconds",
    "max_message_size": "MaximumMessageSize",
    "kms_master_key_id": "KmsMasterKeyId",
    "policy": "Policy",
    "redrive_policy": "RedrivePolicy",
}


@register
class SqsQueueRemediator(Remediator):
    """Every SQS queue attribute but the queue type (standard or FIFO) can be put back.

    One SetQueueAttributes call sets all the drifted queue attributes at once.
    """

    type = "aws_sqs_queue"

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        url = target.live.listed["url"]
        if attr in _ATTRIBUTES:
            drifted = [a for a in _ATTRIBUTES if a in target.drifted]
            if attr == drifted[0]:  # one call sets every drifted queue attribute
                out.add(_set_attributes(url, drifted, target))
        elif attr == "fifo_queue":
            out.refuse(
                attr,
                "a queue's type (standard or FIFO) is fixed when it is created, and a FIFO "
                "queue's name ends in .fifo: create the declared queue and move its "
                "producers and consumers (pipeline mode)",
            )
        elif attr == "tags":
            _tags(url, target, out)
        else:
            super().plan_attr(attr, target, options, out)

    def delete(self, live: LiveResource) -> RevertPlan:
        out = RevertPlan()
        out.add(
            Call(
                "sqs",
                "delete_queue",
                {"QueueUrl": live.listed["url"]},
                (WHOLE,),
                note="deletes the queue and every message in it; a queue of the same name "
                "can be created again only after 60 seconds",
            )
        )
        return out


def _set_attributes(url: str, drifted: list[str], target: Target) -> Call:
    values = {_ATTRIBUTES[a]: _attribute_value(a, target) for a in drifted}
    removed = sorted(name for name, value in values.items() if not value)
    return Call(
        "sqs",
        "set_queue_attributes",
        {"QueueUrl": url, "Attributes": values},
        tuple(p for a in drifted for p in target.paths(a)),
        note=f"an empty value removes {', '.join(removed)}" if removed else "",
    )


def _attribute_value(attr: str, target: Target) -> str:
    """The SetQueueAttributes value of one declared attribute (a string, as SQS wants)."""
    want = target.want.get(attr)
    if want is None:
        return ""
    if attr == "policy":
        declared = target.declared.spec.get("policy")  # as written in Git
        return declared if isinstance(declared, str) else json.dumps(declared, sort_keys=True)
    if attr == "redrive_policy":
        return json.dumps(want, sort_keys=True)
    return str(want)


def _tags(url: str, target: Target, out: RevertPlan) -> None:
    delta = tag_delta(target)
    if delta.remove:
        removed = {"QueueUrl": url, "TagKeys": delta.remove}
        out.add(Call("sqs", "untag_queue", removed, key_paths(target, delta.remove)))
    if delta.put:
        put = {"QueueUrl": url, "Tags": delta.put}
        out.add(Call("sqs", "tag_queue", put, key_paths(target, delta.put)))
