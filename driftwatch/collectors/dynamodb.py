"""DynamoDB collectors: tables."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from driftwatch.collectors.base import Collector, paginate, register
from driftwatch.models import LiveResource, Scope
from driftwatch.schema import Attr, AttrKind, Bool, Ctx, Int, Str, Tags

_ATTRIBUTE_TYPES = ("S", "N", "B")


@dataclass(frozen=True)
class KeyAttributes(AttrKind):
    """Terraform's `attribute` blocks: a set of `{name, type}`, canonically `{name: type}`."""

    label = "list of {name, type} (order ignored)"

    def check(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, list):
            return f"must be a list of {{name, type}} mappings, got {type(value).__name__}"
        seen: dict[str, str] = {}
        for i, item in enumerate(value):
            if not isinstance(item, dict) or set(item) != {"name", "type"}:
                return f"entry {i} must be a mapping with exactly the keys name and type"
            name, kind = item["name"], item["type"]
            if not isinstance(name, str) or not name:
                return f"entry {i} needs a non-empty string name"
            if kind not in _ATTRIBUTE_TYPES:
                return f"entry {i} type must be one of {', '.join(_ATTRIBUTE_TYPES)}; got {kind!r}"
            if seen.get(name, kind) != kind:
                return f"attribute {name!r} is declared with two types"
            seen[name] = kind
        return None

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        return {str(a["name"]): str(a["type"]) for a in sorted(value or (), key=_by_name)}

    def declared(self, value: Any) -> Any:
        return [{"name": name, "type": kind} for name, kind in (value or {}).items()]


def _by_name(item: dict[str, Any]) -> str:
    return str(item["name"])


@register
class DynamoDbTable(Collector):
    """A DynamoDB table, identified by its name; listed per region with ListTables.

    ListTables returns names only: every attribute comes from a detail call. AWS creates
    no tables by itself, so nothing is excluded from unmanaged detection.
    """

    type = "aws_dynamodb_table"
    service = "dynamodb"
    identity = "table name"
    not_found_codes = ("ResourceNotFoundException", "TableNotFoundException")
    attributes = {
        "billing_mode": Attr(
            Str(choices=("PROVISIONED", "PAY_PER_REQUEST")),
            "describe",
            "Capacity mode; tables that predate on-demand report none and read as `PROVISIONED`.",
        ),
        "hash_key": Attr(Str(), "describe", "Partition key attribute name."),
        "range_key": Attr(
            Str(nullable=True), "describe", "Sort key attribute name; null for none."
        ),
        "attribute": Attr(
            KeyAttributes(),
            "describe",
            "Key attribute definitions `[{name, type}]` (type S, N or B), compared as a set.",
        ),
        "read_capacity": Attr(
            Int(), "describe", "Provisioned read capacity units; `0` for on-demand tables."
        ),
        "write_capacity": Attr(
            Int(), "describe", "Provisioned write capacity units; `0` for on-demand tables."
        ),
        "stream_enabled": Attr(Bool(), "describe", "DynamoDB Streams enabled."),
        "point_in_time_recovery": Attr(
            Bool(), "backups", "Point-in-time recovery (continuous backups) enabled."
        ),
        "tags": Attr(Tags(), "tags", "Tags as a mapping; the whole mapping is compared."),
    }

    def __init__(self) -> None:
        self._arn_prefix: dict[tuple[str, str], str] = {}
        self._arn_lock = threading.Lock()

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        return [
            LiveResource(self.type, name, scope.account, scope.region)
            for name in paginate(client, "list_tables", "TableNames")
        ]

    def summary(self, live: LiveResource) -> dict[str, Any]:
        return {"id": live.id}

    def read_describe(self, client: Any, live: LiveResource) -> dict[str, Any]:
        table = client.describe_table(TableName=live.id)["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in table.get("KeySchema", [])}
        throughput = table.get("ProvisionedThroughput", {})
        return {
            # AWS omits BillingModeSummary for tables created before on-demand existed.
            "billing_mode": (table.get("BillingModeSummary") or {}).get("BillingMode")
            or "PROVISIONED",
            "hash_key": keys.get("HASH"),
            "range_key": keys.get("RANGE"),
            "attribute": [
                {"name": a["AttributeName"], "type": a["AttributeType"]}
                for a in table.get("AttributeDefinitions", [])
            ],
            "read_capacity": throughput.get("ReadCapacityUnits", 0),
            "write_capacity": throughput.get("WriteCapacityUnits", 0),
            "stream_enabled": bool((table.get("StreamSpecification") or {}).get("StreamEnabled")),
        }

    def read_backups(self, client: Any, live: LiveResource) -> dict[str, Any]:
        desc = client.describe_continuous_backups(TableName=live.id)["ContinuousBackupsDescription"]
        status = desc.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        return {"point_in_time_recovery": status == "ENABLED"}

    def read_tags(self, client: Any, live: LiveResource) -> dict[str, Any]:
        arn = self._table_arn(client, live)
        live.listed["arn"] = arn  # a tag revert names the table by ARN (remediators/dynamodb.py)
        return {"tags": list(paginate(client, "list_tags_of_resource", "Tags", ResourceArn=arn))}

    def _table_arn(self, client: Any, live: LiveResource) -> str:
        # ListTagsOfResource takes only an ARN and ListTables returns names only; every
        # table of one account and region shares the ARN prefix, so one DescribeTable
        # per scope is enough to learn it.
        key = (live.account, live.region)
        with self._arn_lock:
            if key not in self._arn_prefix:
                arn = client.describe_table(TableName=live.id)["Table"]["TableArn"]
                self._arn_prefix[key] = arn[: -len(live.id)]
            return self._arn_prefix[key] + live.id
