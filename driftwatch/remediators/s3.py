"""Reverts for S3 buckets: versioning, default encryption, public access block, policy, tags."""

from __future__ import annotations

import json
from typing import Any

from driftwatch.remediators.base import Call, Remediator, RevertPlan, Target, register

_PAB = {
    "block_public_acls": "BlockPublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "ignore_public_acls": "IgnorePublicAcls",
    "restrict_public_buckets": "RestrictPublicBuckets",
}


@register
class S3BucketRemediator(Remediator):
    """Every declared S3 bucket attribute can be put back in place."""

    type = "aws_s3_bucket"
    # Unblock public access last and block it first: never a window wider than either end.
    order = ("public_access_block", "policy", "server_side_encryption", "versioning", "tags")

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        bucket, want, fixes = target.live.id, target.want.get(attr), target.paths(attr)
        if attr == "versioning":
            if want == "Disabled":
                out.refuse(
                    attr,
                    "S3 cannot turn versioning off once it was enabled, only suspend it; "
                    "declare versioning: Suspended",
                )
                return
            out.add(
                Call(
                    "s3",
                    "put_bucket_versioning",
                    {"Bucket": bucket, "VersioningConfiguration": {"Status": want}},
                    fixes,
                )
            )
        elif attr == "server_side_encryption":
            out.add(_encryption(bucket, want, fixes))
        elif attr == "public_access_block":
            conf = {aws: bool((want or {}).get(name, False)) for name, aws in _PAB.items()}
            out.add(
                Call(
                    "s3",
                    "put_public_access_block",
                    {"Bucket": bucket, "PublicAccessBlockConfiguration": conf},
                    fixes,
                )
            )
        elif attr == "policy":
            out.add(_policy(bucket, target.declared.spec.get("policy"), fixes))
        elif attr == "tags":
            _tags(bucket, want or {}, target, fixes, out)
        else:
            super().plan_attr(attr, target, options, out)


def _encryption(bucket: str, want: Any, fixes: tuple[str, ...]) -> Call:
    if not want:
        return Call(
            "s3",
            "delete_bucket_encryption",
            {"Bucket": bucket},
            fixes,
            note="S3 then encrypts new objects with its default, SSE-S3 (AES256)",
        )
    default = {"SSEAlgorithm": want["sse_algorithm"]}
    if want.get("kms_master_key_id"):
        default["KMSMasterKeyID"] = want["kms_master_key_id"]
    return Call(
        "s3",
        "put_bucket_encryption",
        {
            "Bucket": bucket,
            "ServerSideEncryptionConfiguration": {
                "Rules": [{"ApplyServerSideEncryptionByDefault": default}]
            },
        },
        fixes,
    )


def _policy(bucket: str, declared: Any, fixes: tuple[str, ...]) -> Call:
    if declared is None:
        return Call("s3", "delete_bucket_policy", {"Bucket": bucket}, fixes)
    document = declared if isinstance(declared, str) else json.dumps(declared, sort_keys=True)
    return Call("s3", "put_bucket_policy", {"Bucket": bucket, "Policy": document}, fixes)


def _tags(
    bucket: str, want: dict[str, str], target: Target, fixes: tuple[str, ...], out: RevertPlan
) -> None:
    reserved = [t["Key"] for t in target.live.attrs.get("tags") or [] if _aws_tag(t["Key"])]
    if reserved:
        # PutBucketTagging replaces the whole set, and nobody may remove an aws: tag.
        out.refuse(
            "tags",
            f"the bucket carries AWS's own tags ({', '.join(reserved)}); S3 replaces the "
            "whole tag set at once and refuses to drop those, so change these tags where "
            "the stack that owns the bucket is defined",
        )
        return
    if not want:
        out.add(Call("s3", "delete_bucket_tagging", {"Bucket": bucket}, fixes))
        return
    tagset = [{"Key": k, "Value": v} for k, v in sorted(want.items())]
    out.add(
        Call("s3", "put_bucket_tagging", {"Bucket": bucket, "Tagging": {"TagSet": tagset}}, fixes)
    )


def _aws_tag(key: str) -> bool:
    return key[:4].lower() == "aws:"
