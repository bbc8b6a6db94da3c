"""SQS collectors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from driftwatch.collectors.base import LISTED, Collector, paginate, register
from driftwatch.models import LiveResource, Scope
from driftwatch.schema import Attr, AttrKind, Bool, Ctx, Int, Policy, Str, Tags

# Only the queue attributes behind declared attributes; never "All" (that adds the
# approximate message counts and timestamps, which change all the time).
_ATTRIBUTE_NAMES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "KmsMasterKeyId",
    "Policy",
    "RedrivePolicy",
)
# SQS always returns these four; a missing one fails the read rather than guessing.
_INTS = {
    "visibility_timeout_seconds": "VisibilityTimeout",
    "message_retention_seconds": "MessageRetentionPeriod",
    "delay_seconds": "DelaySeconds",
    "max_message_size": "MaximumMessageSize",
}


@dataclass(frozen=True)
class RedrivePolicy(AttrKind):
    """A JSON object (string or mapping) compared as a mapping; `maxReceiveCount` as a number."""

    label = "redrive policy {deadLetterTargetArn, maxReceiveCount} (JSON string or mapping)"

    def check(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        doc = value
        if isinstance(value, str):
            try:
                doc = json.loads(value)
            except ValueError as exc:
                return f"is not valid JSON: {exc}"
        if not isinstance(doc, dict):
            return "must be a JSON object {deadLetterTargetArn, maxReceiveCount}"
        count = doc.get("maxReceiveCount")
        if count is not None and not str(count).isdigit():
            return f"maxReceiveCount must be a whole number, got {count!r}"
        return None

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        if value is None or value == "":
            return None
        doc = dict(json.loads(value) if isinstance(value, str) else value)
        # SQS returns maxReceiveCount as a number or as a string, depending on how it was set.
        if str(doc.get("maxReceiveCount", "")).isdigit():
            doc["maxReceiveCount"] = int(doc["maxReceiveCount"])
        return dict(sorted(doc.items()))


@register
class SqsQueue(Collector):
    """An SQS queue, identified by its name; no queue is excluded from unmanaged."""

    type = "aws_sqs_queue"
    service = "sqs"
    identity = "queue name (FIFO queues end in `.fifo`)"
    not_found_codes = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
    attributes = {
        "visibility_timeout_seconds": Attr(
            Int(), "attributes", "Visibility timeout in seconds; AWS default 30."
        ),
        "message_retention_seconds": Attr(
            Int(), "attributes", "Message retention in seconds; AWS default 345600 (4 days)."
        ),
        "delay_seconds": Attr(Int(), "attributes", "Delivery delay in seconds; AWS default 0."),
        "max_message_size": Attr(Int(), "attributes", "Maximum message size in bytes."),
        "fifo_queue": Attr(
            Bool(), LISTED, "FIFO queue; from the name, which ends in `.fifo` exactly for FIFO."
        ),
        "kms_master_key_id": Attr(
            Str(empty_is_null=True), "attributes", "KMS key for SSE-KMS as configured; null: none."
        ),
        "policy": Attr(Policy(), "attributes", "Queue policy, compared semantically; null: none."),
        "redrive_policy": Attr(
            RedrivePolicy(),
            "attributes",
            "Dead-letter redrive policy, compared as a mapping; null: none.",
        ),
        "tags": Attr(Tags(), "tags", "Tags as a mapping; the whole mapping is compared."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        # Without MaxResults (PageSize) ListQueues returns at most 1000 URLs and no NextToken.
        urls = paginate(client, "list_queues", "QueueUrls", PaginationConfig={"PageSize": 1000})
        out = []
        for url in urls:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            out.append(
                LiveResource(
                    self.type,
                    name,
                    scope.account,
                    scope.region,
                    listed={"url": url},
                    attrs={"fifo_queue": name.endswith(".fifo")},
                )
            )
        return out

    def read_attributes(self, client: Any, live: LiveResource) -> dict[str, Any]:
        got = client.get_queue_attributes(
            QueueUrl=live.listed["url"], AttributeNames=list(_ATTRIBUTE_NAMES)
        ).get("Attributes", {})
        out: dict[str, Any] = {name: int(got[key]) for name, key in _INTS.items()}
        out["kms_master_key_id"] = got.get("KmsMasterKeyId") or None
        out["policy"] = got.get("Policy") or None
        out["redrive_policy"] = got.get("RedrivePolicy") or None
        return out

    def read_tags(self, client: Any, live: LiveResource) -> dict[str, Any]:
        return {"tags": client.list_queue_tags(QueueUrl=live.listed["url"]).get("Tags") or {}}
