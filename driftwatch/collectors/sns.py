"""SNS collectors."""

from __future__ import annotations

from typing import Any

from driftwatch.collectors.base import Collector, paginate, register
from driftwatch.models import LiveResource, Scope
from driftwatch.schema import Attr, Policy, Str, Tags


@register
class SnsTopic(Collector):
    """An SNS topic, identified by its name; no topic is excluded from unmanaged.

    AWS gives every topic a default access policy, so a topic always has a `policy`;
    it is compared only when declared, like every attribute.
    """

    type = "aws_sns_topic"
    service = "sns"
    identity = "topic name (FIFO topics end in `.fifo`)"
    not_found_codes = ("NotFound",)
    attributes = {
        "display_name": Attr(
            Str(empty_is_null=True), "attributes", 'Display name; `""` and null are equal.'
        ),
        "kms_master_key_id": Attr(
            Str(empty_is_null=True), "attributes", "KMS key for SSE as configured; null: none."
        ),
        "policy": Attr(
            Policy(),
            "attributes",
            "Topic access policy (AWS sets a default), compared semantically.",
        ),
        "tags": Attr(Tags(), "tags", "Tags as a mapping; the whole mapping is compared."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        return [
            LiveResource(
                self.type,
                t["TopicArn"].rsplit(":", 1)[-1],
                scope.account,
                scope.region,
                listed={"arn": t["TopicArn"]},
            )
            for t in paginate(client, "list_topics", "Topics")
        ]

    def read_attributes(self, client: Any, live: LiveResource) -> dict[str, Any]:
        got = client.get_topic_attributes(TopicArn=live.listed["arn"]).get("Attributes", {})
        return {
            "display_name": got.get("DisplayName") or None,
            "kms_master_key_id": got.get("KmsMasterKeyId") or None,
            "policy": got.get("Policy") or None,
        }

    def read_tags(self, client: Any, live: LiveResource) -> dict[str, Any]:
        return {
            "tags": client.list_tags_for_resource(ResourceArn=live.listed["arn"]).get("Tags") or []
        }
