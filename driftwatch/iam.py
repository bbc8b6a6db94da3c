"""The IAM permissions driftwatch needs: read actions per collector, write actions per remediation.

`READS` maps each resource type to the boto3 operations its collector calls and the IAM
action each needs (tests/test_iam_policy.py checks it against the collectors' source).
`WRITES` maps each resource type's attributes to the API calls that put a drifted value
back, with their IAM actions; `NOT_REVERTIBLE` names the attributes no API call can
change in place (AWS needs a new resource). `python -m driftwatch.iam` prints docs/iam.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One AWS API call and the IAM action that authorises it."""

    operation: str  # the API name, e.g. PutBucketEncryption
    action: str  # the IAM action, e.g. s3:PutEncryptionConfiguration


def _calls(service: str, *names: str) -> tuple[Call, ...]:
    """Calls whose IAM action is the API name under the service prefix (the usual case)."""
    return tuple(Call(n, f"{service}:{n}") for n in names)


# boto3 operation (snake_case, as the collectors call it) → IAM action.
READS: dict[str, dict[str, str]] = {
    "aws_s3_bucket": {
        "list_buckets": "s3:ListAllMyBuckets",
        "get_bucket_versioning": "s3:GetBucketVersioning",
        "get_bucket_encryption": "s3:GetEncryptionConfiguration",
        "get_public_access_block": "s3:GetBucketPublicAccessBlock",
        "get_bucket_policy": "s3:GetBucketPolicy",
        "get_bucket_tagging": "s3:GetBucketTagging",
    },
    "aws_security_group": {"describe_security_groups": "ec2:DescribeSecurityGroups"},
    "aws_instance": {"describe_instances": "ec2:DescribeInstances"},
    "aws_iam_role": {
        "list_roles": "iam:ListRoles",
        "list_attached_role_policies": "iam:ListAttachedRolePolicies",
        "list_role_policies": "iam:ListRolePolicies",
        "get_role_policy": "iam:GetRolePolicy",
        "list_role_tags": "iam:ListRoleTags",
        "get_account_authorization_details": "iam:GetAccountAuthorizationDetails",
    },
    "aws_iam_policy": {
        "list_policies": "iam:ListPolicies",
        "get_policy": "iam:GetPolicy",
        "get_policy_version": "iam:GetPolicyVersion",
    },
    "aws_iam_user": {
        "list_users": "iam:ListUsers",
        "list_user_tags": "iam:ListUserTags",
        "list_attached_user_policies": "iam:ListAttachedUserPolicies",
        "list_groups_for_user": "iam:ListGroupsForUser",
    },
    "aws_lambda_function": {
        "list_functions": "lambda:ListFunctions",
        "list_tags": "lambda:ListTags",
    },
    "aws_dynamodb_table": {
        "list_tables": "dynamodb:ListTables",
        "describe_table": "dynamodb:DescribeTable",
        "describe_continuous_backups": "dynamodb:DescribeContinuousBackups",
        "list_tags_of_resource": "dynamodb:ListTagsOfResource",
    },
    "aws_sqs_queue": {
        "list_queues": "sqs:ListQueues",
        "get_queue_attributes": "sqs:GetQueueAttributes",
        "list_queue_tags": "sqs:ListQueueTags",
    },
    "aws_sns_topic": {
        "list_topics": "sns:ListTopics",
        "get_topic_attributes": "sns:GetTopicAttributes",
        "list_tags_for_resource": "sns:ListTagsForResource",
    },
    "aws_db_instance": {"describe_db_instances": "rds:DescribeDBInstances"},
    "aws_kms_key": {
        "list_keys": "kms:ListKeys",
        "list_aliases": "kms:ListAliases",
        "describe_key": "kms:DescribeKey",
        "get_key_rotation_status": "kms:GetKeyRotationStatus",
        "get_key_policy": "kms:GetKeyPolicy",
        "list_resource_tags": "kms:ListResourceTags",
    },
    "aws_cloudwatch_log_group": {
        "describe_log_groups": "logs:DescribeLogGroups",
        "list_tags_for_resource": "logs:ListTagsForResource",
    },
}

# Reads only a remediation needs: collector sources that no declared attribute uses.
REMEDIATION_READS: dict[str, dict[str, str]] = {
    "aws_iam_role": {"list_instance_profiles_for_role": "iam:ListInstanceProfilesForRole"},
    "aws_iam_policy": {"list_policy_versions": "iam:ListPolicyVersions"},
}

_TAG_RESOURCE = ("TagResource", "UntagResource")

# attribute → the calls a remediation may make to put the declared value back.
WRITES: dict[str, dict[str, tuple[Call, ...]]] = {
    "aws_s3_bucket": {
        "versioning": _calls("s3", "PutBucketVersioning"),
        # Both encryption calls are authorised by one action, as are both PAB calls.
        "server_side_encryption": (
            Call("PutBucketEncryption", "s3:PutEncryptionConfiguration"),
            Call("DeleteBucketEncryption", "s3:PutEncryptionConfiguration"),
        ),
        "public_access_block": (
            Call("PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
            Call("DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
        ),
        "policy": _calls("s3", "PutBucketPolicy", "DeleteBucketPolicy"),
        # DeleteBucketTagging is authorised by s3:PutBucketTagging.
        "tags": (
            Call("PutBucketTagging", "s3:PutBucketTagging"),
            Call("DeleteBucketTagging", "s3:PutBucketTagging"),
        ),
    },
    "aws_security_group": {
        "ingress": _calls(
            "ec2",
            "AuthorizeSecurityGroupIngress",
            "RevokeSecurityGroupIngress",
            "UpdateSecurityGroupRuleDescriptionsIngress",
        ),
        "egress": _calls(
            "ec2",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupEgress",
            "UpdateSecurityGroupRuleDescriptionsEgress",
        ),
        "tags": _calls("ec2", "CreateTags", "DeleteTags"),
    },
    "aws_instance": {
        # The instance type can only change while the instance is stopped.
        "instance_type": _calls(
            "ec2", "StopInstances", "ModifyInstanceAttribute", "StartInstances"
        ),
        "vpc_security_group_ids": _calls("ec2", "ModifyInstanceAttribute"),
        "monitoring": _calls("ec2", "MonitorInstances", "UnmonitorInstances"),
        "tags": _calls("ec2", "CreateTags", "DeleteTags"),
    },
    "aws_iam_role": {
        "assume_role_policy": _calls("iam", "UpdateAssumeRolePolicy"),
        "description": _calls("iam", "UpdateRole"),
        "max_session_duration": _calls("iam", "UpdateRole"),
        "managed_policy_arns": _calls("iam", "AttachRolePolicy", "DetachRolePolicy"),
        "inline_policies": _calls("iam", "PutRolePolicy", "DeleteRolePolicy"),
        "tags": _calls("iam", "TagRole", "UntagRole"),
    },
    "aws_iam_policy": {
        # A policy keeps at most five versions: the oldest non-default one is deleted first.
        "policy": _calls("iam", "DeletePolicyVersion", "CreatePolicyVersion"),
        "tags": _calls("iam", "TagPolicy", "UntagPolicy"),
    },
    "aws_iam_user": {
        "path": _calls("iam", "UpdateUser"),
        "tags": _calls("iam", "TagUser", "UntagUser"),
        "managed_policy_arns": _calls("iam", "AttachUserPolicy", "DetachUserPolicy"),
        "groups": _calls("iam", "AddUserToGroup", "RemoveUserFromGroup"),
    },
    "aws_lambda_function": {
        **{
            a: _calls("lambda", "UpdateFunctionConfiguration")
            for a in ("runtime", "handler", "memory_size", "timeout", "environment", "layers")
        },
        # Setting the execution role passes it to Lambda.
        "role": (
            *_calls("lambda", "UpdateFunctionConfiguration"),
            Call("PassRole", "iam:PassRole"),
        ),
        "tags": _calls("lambda", *_TAG_RESOURCE),
    },
    "aws_dynamodb_table": {
        **{
            a: _calls("dynamodb", "UpdateTable")
            for a in ("billing_mode", "read_capacity", "write_capacity", "stream_enabled")
        },
        "point_in_time_recovery": _calls("dynamodb", "UpdateContinuousBackups"),
        "tags": _calls("dynamodb", *_TAG_RESOURCE),
    },
    "aws_sqs_queue": {
        **{
            a: _calls("sqs", "SetQueueAttributes")
            for a in (
                "visibility_timeout_seconds",
                "message_retention_seconds",
                "delay_seconds",
                "max_message_size",
                "kms_master_key_id",
                "policy",
                "redrive_policy",
            )
        },
        "tags": _calls("sqs", "TagQueue", "UntagQueue"),
    },
    "aws_sns_topic": {
        **{
            a: _calls("sns", "SetTopicAttributes")
            for a in ("display_name", "kms_master_key_id", "policy")
        },
        "tags": _calls("sns", *_TAG_RESOURCE),
    },
    "aws_db_instance": {
        **{
            a: _calls("rds", "ModifyDBInstance")
            for a in (
                "engine_version",
                "instance_class",
                "allocated_storage",
                "multi_az",
                "publicly_accessible",
                "backup_retention_period",
                "deletion_protection",
            )
        },
        "tags": _calls("rds", "AddTagsToResource", "RemoveTagsFromResource"),
    },
    "aws_kms_key": {
        "description": _calls("kms", "UpdateKeyDescription"),
        "enable_key_rotation": _calls("kms", "EnableKeyRotation", "DisableKeyRotation"),
        "policy": _calls("kms", "PutKeyPolicy"),
        "tags": _calls("kms", *_TAG_RESOURCE),
    },
    "aws_cloudwatch_log_group": {
        "retention_in_days": _calls("logs", "PutRetentionPolicy", "DeleteRetentionPolicy"),
        "kms_key_id": _calls("logs", "AssociateKmsKey", "DisassociateKmsKey"),
        "tags": _calls("logs", *_TAG_RESOURCE),
    },
}

# Deleting an unmanaged resource: only with `[remediation] delete_unmanaged = true`.
DELETES: dict[str, tuple[Call, ...]] = {
    "aws_sqs_queue": _calls("sqs", "DeleteQueue"),
    "aws_sns_topic": _calls("sns", "DeleteTopic"),
    "aws_security_group": _calls("ec2", "DeleteSecurityGroup"),
    # A role is emptied first: out of its instance profiles, policies detached and deleted.
    "aws_iam_role": _calls(
        "iam",
        "RemoveRoleFromInstanceProfile",
        "DetachRolePolicy",
        "DeleteRolePolicy",
        "DeleteRole",
    ),
}

_REPLACE = "set at creation; AWS cannot change it in place"

# attribute → why no API call can put it back (the resource would have to be replaced).
NOT_REVERTIBLE: dict[str, dict[str, str]] = {
    "aws_security_group": {"description": _REPLACE, "vpc_id": _REPLACE},
    "aws_instance": {"ami": _REPLACE, "subnet_id": _REPLACE},
    "aws_iam_role": {"path": _REPLACE},
    "aws_iam_policy": {"description": _REPLACE, "path": _REPLACE},
    "aws_dynamodb_table": {"hash_key": _REPLACE, "range_key": _REPLACE, "attribute": _REPLACE},
    "aws_sqs_queue": {"fifo_queue": _REPLACE},
    "aws_db_instance": {"engine": _REPLACE, "storage_encrypted": _REPLACE},
    "aws_kms_key": {
        "key_usage": _REPLACE,
        "deletion_window_in_days": "only chosen when a deletion is scheduled",
    },
}

ASSUME_ROLE = "sts:AssumeRole"


def read_actions(types: Iterable[str]) -> list[str]:
    """Every IAM action the collectors of these types call, sorted."""
    return sorted({a for t in types for a in READS[t].values()})


def write_actions(rtype: str, delete: bool = False) -> list[str]:
    """Every IAM action a remediation of this type may need (and a deletion), sorted."""
    calls = [c for cs in WRITES.get(rtype, {}).values() for c in cs]
    calls += DELETES.get(rtype, ()) if delete else ()
    reads = REMEDIATION_READS.get(rtype, {}).values()
    return sorted({c.action for c in calls} | set(reads))


def policy(actions: Iterable[str], sid_prefix: str = "Driftwatch") -> dict[str, Any]:
    """An IAM policy document allowing `actions` on every resource, one statement per service."""
    by_service: dict[str, list[str]] = {}
    for action in sorted(set(actions)):
        by_service.setdefault(action.split(":", 1)[0], []).append(action)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"{sid_prefix}{_SERVICE_NAMES.get(svc, svc.title())}",
                "Effect": "Allow",
                "Action": acts,
                "Resource": "*",
            }
            for svc, acts in by_service.items()
        ],
    }


_SERVICE_NAMES = {
    "s3": "S3",
    "ec2": "EC2",
    "iam": "IAM",
    "sqs": "SQS",
    "sns": "SNS",
    "kms": "KMS",
    "rds": "RDS",
    "dynamodb": "DynamoDB",
    "lambda": "Lambda",
    "logs": "Logs",
    "sts": "STS",
}


def read_policy(types: Iterable[str]) -> dict[str, Any]:
    """The read-only policy a scan of these types needs, for the base identity or each role."""
    return policy(read_actions(types), "DriftwatchRead")


def write_policy(rtype: str, delete: bool = False) -> dict[str, Any]:
    """The policy a remediation of one resource type needs, on top of the read policy."""
    name = "".join(p.title() for p in rtype.removeprefix("aws_").split("_"))
    return policy(write_actions(rtype, delete), f"DriftwatchRemediate{name}")


def assume_role_policy(role_arns: Iterable[str]) -> dict[str, Any]:
    """What the base identity needs to assume the configured accounts' roles."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DriftwatchAssumeRoles",
                "Effect": "Allow",
                "Action": ASSUME_ROLE,
                "Resource": sorted(set(role_arns)),
            }
        ],
    }


def dumps(doc: dict[str, Any]) -> str:
    """A policy document as indented JSON, ready to paste into the IAM console."""
    return json.dumps(doc, indent=2)


def markdown(types: Iterable[str]) -> str:
    """docs/iam.md: the read policy, then one write policy per remediation type."""
    types = sorted(types)
    out = [_DOC_HEAD, "```json", dumps(read_policy(types)), "```", "", _READ_TABLE_HEAD]
    for rtype in types:
        for op, action in READS[rtype].items():
            out.append(f"| `{rtype}` | `{api_name(op)}` | `{action}` |")
    out += ["", _WRITE_HEAD]
    for rtype in types:
        out += [f"### `{rtype}`", "", "```json", dumps(write_policy(rtype)), "```", ""]
        out.append("| Attribute | API calls | IAM actions |")
        out.append("|---|---|---|")
        for attr, calls in WRITES.get(rtype, {}).items():
            ops = ", ".join(f"`{c.operation}`" for c in calls)
            acts = ", ".join(sorted({f"`{c.action}`" for c in calls}))
            out.append(f"| `{attr}` | {ops} | {acts} |")
        for attr, why in NOT_REVERTIBLE.get(rtype, {}).items():
            out.append(f"| `{attr}` | none: {why} | — |")
        for op, action in REMEDIATION_READS.get(rtype, {}).items():
            out.append(f"| (read before a revert) | `{api_name(op)}` | `{action}` |")
        deletes = DELETES.get(rtype, ())
        if deletes:
            ops = ", ".join(f"`{c.operation}`" for c in deletes)
            acts = ", ".join(f"`{c.action}`" for c in deletes)
            out.append(f"| (delete unmanaged, with `delete_unmanaged = true`) | {ops} | {acts} |")
        out.append("")
    out.append(_DOC_TAIL)
    return "\n".join(out)


def api_name(op: str) -> str:
    """boto3's snake_case operation → the API name (describe_db_instances → DescribeDBInstances)."""
    return "".join(p.title() for p in op.split("_")).replace("Db", "DB")


_DOC_HEAD = """\
# IAM permissions

<!-- Generated by `python -m driftwatch.iam > docs/iam.md`; tests/test_iam_policy.py
     checks that this file matches driftwatch/iam.py. Do not edit by hand. -->

`driftwatch check --iam-policy` prints these policies for the resource types your
config actually scans (`scan.types` plus the types your manifests declare); this
page lists them for every type.

## Scanning: read-only

Attach this policy to the base identity (no `role_arn`), or to each account's
`role_arn` role. These are exactly the actions the collectors call: detail
actions are only called for declared resources that declare the attributes they
feed, but a missing one makes those resources *not checked*, so grant them all.
`iam:GetAccountAuthorizationDetails` is optional (without it IAM roles are read
one call at a time). Lambda functions whose environment is encrypted with a
customer managed key also need `kms:Decrypt` on that key, or their `environment`
is *not checked*.

For accounts with a `role_arn`, the base identity also needs `sts:AssumeRole` on
those roles (`driftwatch check --iam-policy` prints that statement with your ARNs),
and each role's trust policy must allow the base identity (with an
`sts:ExternalId` condition when `external_id` is set).
`sts:GetCallerIdentity`, which `driftwatch check` calls, needs no permission.
"""

_READ_TABLE_HEAD = """\
| Type | API call | IAM action |
|---|---|---|"""

_WRITE_HEAD = """\
## Remediation: write, per resource type

Only needed where [remediation](remediation.md) is enabled, and only for the
types you let it revert (`allow_types`); give them to a separate role from the
read-only one. Each policy adds
the calls that put an attribute's declared value back; attributes marked *none*
cannot be changed in place (AWS would have to replace the resource), so they are
only ever reported.
"""

_DOC_TAIL = """\
Bucket policies with an explicit `Deny`, SCPs and permission boundaries can
still refuse individual calls; they show up as `AccessDenied` for the scope or
the resource (see [operations](operations.md#troubleshooting)). `driftwatch
check` tells you whether the credentials work at all (STS caller identity per
account); a scan tells you whether every read is allowed.
"""


if __name__ == "__main__":
    print(markdown(READS), end="")
