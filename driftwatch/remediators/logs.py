"""Reverts for CloudWatch Logs log groups: retention, the KMS key, tags."""

from __future__ import annotations

from driftwatch.remediators.base import Call, Remediator, RevertPlan, Target, register
from driftwatch.remediators.tagging import key_paths, tag_delta


@register
class LogGroupRemediator(Remediator):
    """Every declared log group attribute can be put back in place."""

    type = "aws_cloudwatch_log_group"
    order = ("kms_key_id", "retention_in_days", "tags")

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        group, want, fixes = target.live.id, target.want.get(attr), target.paths(attr)
        if attr == "retention_in_days":
            out.add(_retention(group, int(want or 0), fixes))
        elif attr == "kms_key_id":
            out.add(_key(group, want, fixes))
        elif attr == "tags":
            _tags(target.live.listed["arn"], target, out)
        else:
            super().plan_attr(attr, target, options, out)


def _retention(group: str, days: int, fixes: tuple[str, ...]) -> Call:
    if not days:
        return Call(
            "logs",
            "delete_retention_policy",
            {"logGroupName": group},
            fixes,
            note="log events then never expire",
        )
    params = {"logGroupName": group, "retentionInDays": days}
    return Call(
        "logs",
        "put_retention_policy",
        params,
        fixes,
        note="events older than the retention are deleted, within about three days",
    )


def _key(group: str, key: str | None, fixes: tuple[str, ...]) -> Call:
    if key is None:
        return Call(
            "logs",
            "disassociate_kms_key",
            {"logGroupName": group},
            fixes,
            note="new events are no longer encrypted with the key; earlier ones stay "
            "encrypted with it, so keep the key while they are kept",
        )
    return Call(
        "logs",
        "associate_kms_key",
        {"logGroupName": group, "kmsKeyId": key},
        fixes,
        note="the key policy must let CloudWatch Logs use the key",
    )


def _tags(arn: str, target: Target, out: RevertPlan) -> None:
    delta = tag_delta(target)
    if delta.remove:
        removed = {"resourceArn": arn, "tagKeys": delta.remove}
        out.add(Call("logs", "untag_resource", removed, key_paths(target, delta.remove)))
    if delta.put:
        put = {"resourceArn": arn, "tags": delta.put}
        out.add(Call("logs", "tag_resource", put, key_paths(target, delta.put)))
