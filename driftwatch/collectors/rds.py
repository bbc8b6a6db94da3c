"""RDS collectors: DB instances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from driftwatch.collectors.base import LISTED, Collector, paginate, register
from driftwatch.models import DeclaredResource, LiveResource, Scope
from driftwatch.schema import Attr, Bool, Ctx, Int, Str, Tags


@dataclass(frozen=True)
class EngineVersion(Str):
    """An engine version where a declared prefix (`15`, `8.0`) matches any live version below it.

    As in Terraform, `15` equals live `15.4` and `8.0` equals `8.0.36`, so AWS's automatic
    minor upgrades are not drift; the prefix must end at a dot (`1` does not match `15.4`).
    """

    @property
    def label(self) -> str:  # type: ignore[override]
        return 'string (a version, or a prefix such as "15")'

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        live = ctx.get("engine_version")
        if isinstance(value, str) and isinstance(live, str) and live.startswith(value + "."):
            return live
        return value


# DescribeDBInstances lists an instance until it is gone; one being deleted is not live.
_GONE = ("deleting",)


@register
class DbInstance(Collector):
    """An RDS DB instance, identified by its DB instance identifier; every attribute is listed.

    Members of Aurora and Multi-AZ DB clusters (Terraform's `aws_rds_cluster_instance`) are
    matched when declared but never reported as unmanaged. The master password is not an
    attribute: AWS never returns it, and nothing else the listing holds is stored.
    """

    type = "aws_db_instance"
    service = "rds"
    identity = "DB instance identifier (case-insensitive, as AWS stores it in lowercase)"
    not_found_codes = ("DBInstanceNotFound", "DBInstanceNotFoundFault")
    attributes = {
        "engine": Attr(Str(), LISTED, "Database engine, e.g. `postgres`, `mysql`."),
        "engine_version": Attr(
            EngineVersion(),
            LISTED,
            "Engine version; a declared prefix such as `15` matches any live `15.x`.",
        ),
        "instance_class": Attr(Str(), LISTED, "Instance class, e.g. `db.t3.micro`."),
        "allocated_storage": Attr(Int(), LISTED, "Allocated storage in GiB."),
        "multi_az": Attr(Bool(), LISTED, "Multi-AZ deployment."),
        "publicly_accessible": Attr(Bool(), LISTED, "Reachable from outside the VPC."),
        "storage_encrypted": Attr(Bool(), LISTED, "Storage encrypted at rest."),
        "backup_retention_period": Attr(
            Int(), LISTED, "Days automated backups are kept; `0` disables them."
        ),
        "deletion_protection": Attr(Bool(), LISTED, "Deletion protection enabled."),
        "tags": Attr(Tags(), LISTED, "Tags as a mapping; the whole mapping is compared."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        return [
            self._live(db, scope)
            for db in paginate(client, "describe_db_instances", "DBInstances")
            if db.get("DBInstanceStatus") not in _GONE
        ]

    def _live(self, db: dict[str, Any], scope: Scope) -> LiveResource:
        # Only the declared attributes and summary facts are kept: the listing also holds
        # the master user name, endpoints and secret ARNs, which must never be stored.
        return LiveResource(
            self.type,
            db["DBInstanceIdentifier"],
            scope.account,
            scope.region,
            listed={
                "engine": db.get("Engine"),
                "instance_class": db.get("DBInstanceClass"),
                "cluster": db.get("DBClusterIdentifier"),
                "arn": db.get("DBInstanceArn"),  # what a tag revert names the instance by
            },
            attrs={
                "engine": db.get("Engine"),
                "engine_version": db.get("EngineVersion"),
                "instance_class": db.get("DBInstanceClass"),
                "allocated_storage": db.get("AllocatedStorage"),
                "multi_az": bool(db.get("MultiAZ")),
                "publicly_accessible": bool(db.get("PubliclyAccessible")),
                "storage_encrypted": bool(db.get("StorageEncrypted")),
                "backup_retention_period": db.get("BackupRetentionPeriod"),
                "deletion_protection": bool(db.get("DeletionProtection")),
                "tags": db.get("TagList", []),
            },
        )

    def match_key(self, identifier: str) -> str:
        return identifier.lower()

    def match(
        self, declared: DeclaredResource, candidates: list[LiveResource]
    ) -> list[LiveResource]:
        """By identifier, ignoring case: AWS lowercases identifiers when it stores them."""
        wanted = declared.id.lower()
        return [c for c in candidates if c.id.lower() == wanted]

    def aws_managed(self, live: LiveResource) -> bool:
        return bool(live.listed["cluster"])

    def context(self, live: LiveResource) -> Ctx:
        return {"engine_version": live.attrs.get("engine_version")}

    def summary(self, live: LiveResource) -> dict[str, Any]:
        return {
            "id": live.id,
            "engine": live.listed["engine"],
            "instance_class": live.listed["instance_class"],
        }
