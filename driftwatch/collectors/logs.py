"""CloudWatch Logs collectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from driftwatch.collectors.base import LISTED, Collector, paginate, register
from driftwatch.models import LiveResource, Scope
from driftwatch.schema import Attr, AttrKind, Ctx, Str, Tags

# 0 (never expire, as in Terraform) and the values PutRetentionPolicy accepts.
RETENTION_DAYS = (
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


@dataclass(frozen=True)
class RetentionDays(AttrKind):
    """Log retention in days; 0 and null both mean never expire (canonical 0)."""

    label = "retention in days (0 = never expire)"

    def check(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or value not in RETENTION_DAYS:
            allowed = ", ".join(str(d) for d in RETENTION_DAYS)
            return f"must be one of {allowed}; got {value!r}"
        return None

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        return value or 0


@register
class LogGroup(Collector):
    """A CloudWatch Logs log group, identified by its name.

    Groups that AWS services create on first use (`/aws/lambda/…`, `/aws/rds/…`, …)
    are the customer's resources, billed and configurable, so nothing is excluded
    from unmanaged.
    """

    type = "aws_cloudwatch_log_group"
    service = "logs"
    identity = "log group name"
    not_found_codes = ("ResourceNotFoundException",)
    attributes = {
        "retention_in_days": Attr(
            RetentionDays(), LISTED, "Retention in days; `0` (or null) = never expire."
        ),
        "kms_key_id": Attr(
            Str(empty_is_null=True), LISTED, "ARN of the KMS key encrypting the group; null: none."
        ),
        "tags": Attr(Tags(), "tags", "Tags as a mapping; the whole mapping is compared."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        return [
            LiveResource(
                self.type,
                g["logGroupName"],
                scope.account,
                scope.region,
                # Tagging wants the ARN without DescribeLogGroups' trailing `:*`.
                listed={"arn": g.get("logGroupArn") or g["arn"].removesuffix(":*")},
                attrs={
                    "retention_in_days": g.get("retentionInDays", 0),
                    "kms_key_id": g.get("kmsKeyId"),
                },
            )
            for g in paginate(client, "describe_log_groups", "logGroups")
        ]

    def read_tags(self, client: Any, live: LiveResource) -> dict[str, Any]:
        return {
            "tags": client.list_tags_for_resource(resourceArn=live.listed["arn"]).get("tags") or {}
        }
