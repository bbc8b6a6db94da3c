"""S3 collectors."""

from __future__ import annotations

from typing import Any

from driftwatch.collectors.base import Collector, is_code, register
from driftwatch.models import LiveResource, Scope
from driftwatch.schema import Attr, Bool, Policy, Str, Struct, Tags

_PAB_FIELDS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)
_PAB_AWS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


@register
class S3Bucket(Collector):
    """An S3 bucket, identified by its name; listed per region with ListBuckets(BucketRegion)."""

    type = "aws_s3_bucket"
    service = "s3"
    identity = "bucket name"
    not_found_codes = ("NoSuchBucket",)
    attributes = {
        "versioning": Attr(
            Str(choices=("Enabled", "Suspended", "Disabled")),
            "versioning",
            "Versioning status; a bucket that never had versioning is `Disabled`.",
        ),
        "server_side_encryption": Attr(
            Struct(
                {
                    "sse_algorithm": (Str(choices=("AES256", "aws:kms", "aws:kms:dsse")), None),
                    "kms_master_key_id": (Str(nullable=True), None),
                },
                nullable=True,
            ),
            "encryption",
            "Default encryption `{sse_algorithm, kms_master_key_id}`, or null for none.",
        ),
        "public_access_block": Attr(
            Struct({f: (Bool(), False) for f in _PAB_FIELDS}),
            "public_access_block",
            "Bucket-level public access block; an undeclared flag means `false`, "
            "as does a bucket without a configuration.",
        ),
        "policy": Attr(
            Policy(), "policy", "Bucket policy document, compared semantically; null for none."
        ),
        "tags": Attr(Tags(), "tags", "Tags as a mapping; the whole mapping is compared."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        # Never pass MaxBuckets: moto returns only the first page when it is set,
        # and without it AWS returns every bucket of the region at once.
        params: dict[str, Any] = {"BucketRegion": scope.region}
        out: list[LiveResource] = []
        while True:
            resp = client.list_buckets(**params)
            out += [
                LiveResource(self.type, b["Name"], scope.account, scope.region)
                for b in resp.get("Buckets", [])
            ]
            if not resp.get("ContinuationToken"):
                return out
            params["ContinuationToken"] = resp["ContinuationToken"]

    def read_versioning(self, client: Any, live: LiveResource) -> dict[str, Any]:
        status = client.get_bucket_versioning(Bucket=live.id).get("Status")
        return {"versioning": status or "Disabled"}

    def read_encryption(self, client: Any, live: LiveResource) -> dict[str, Any]:
        try:
            rules = client.get_bucket_encryption(Bucket=live.id)[
                "ServerSideEncryptionConfiguration"
            ]["Rules"]
        except Exception as exc:
            if is_code(exc, "ServerSideEncryptionConfigurationNotFoundError"):
                return {"server_side_encryption": None}
            raise
        default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
        return {
            "server_side_encryption": {
                "sse_algorithm": default.get("SSEAlgorithm"),
                "kms_master_key_id": default.get("KMSMasterKeyID"),
            }
            if default
            else None
        }

    def read_public_access_block(self, client: Any, live: LiveResource) -> dict[str, Any]:
        try:
            conf = client.get_public_access_block(Bucket=live.id)["PublicAccessBlockConfiguration"]
        except Exception as exc:
            if is_code(exc, "NoSuchPublicAccessBlockConfiguration"):
                conf = {}
            else:
                raise
        return {
            "public_access_block": {
                f: bool(conf.get(a, False)) for f, a in zip(_PAB_FIELDS, _PAB_AWS, strict=True)
            }
        }

    def read_policy(self, client: Any, live: LiveResource) -> dict[str, Any]:
        try:
            return {"policy": client.get_bucket_policy(Bucket=live.id)["Policy"]}
        except Exception as exc:
            if is_code(exc, "NoSuchBucketPolicy"):
                return {"policy": None}
            raise

    def read_tags(self, client: Any, live: LiveResource) -> dict[str, Any]:
        try:
            return {"tags": client.get_bucket_tagging(Bucket=live.id)["TagSet"]}
        except Exception as exc:
            if is_code(exc, "NoSuchTagSet"):
                return {"tags": {}}
            raise
