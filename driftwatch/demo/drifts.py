"""Drift, made the way people make it: by hand, in the console, at 2 a.m.

`introduce_drifts` makes the six drifts every demo starts with; `make_random_drift`
makes one more on a resource that is still in sync (`driftwatch demo --drift` and the
banner's button), so a user can watch a scan catch it and an alert arrive.
"""

from __future__ import annotations

import fcntl
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from driftwatch.demo import EAST, WEST, DemoState
from driftwatch.demo.estate import Aws, tcp_from
from driftwatch.errors import DemoError


@dataclass(frozen=True)
class DriftMade:
    """What one drift changed: the resource (as the manifests name it) and how."""

    type: str
    id: str
    what: str
    kind: str = "modified"

    def line(self) -> str:
        return f"{self.kind} {self.type} {self.id}: {self.what}"


def _sg_id(aws: Aws, name: str, region: str = EAST) -> str:
    ec2 = aws.client("ec2", region)
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    return str(groups["SecurityGroups"][0]["GroupId"])


def _instance_id(aws: Aws, name: str) -> str:
    ec2 = aws.client("ec2")
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return str(found["Reservations"][0]["Instances"][0]["InstanceId"])


# --- the six drifts every demo starts with -------------------------------------------------


def open_ssh(aws: Aws) -> DriftMade:
    ssh = tcp_from(22, "0.0.0.0/0")
    ssh[0]["IpRanges"][0]["Description"] = "debugging, remove me"
    aws.client("ec2").authorize_security_group_ingress(
        GroupId=_sg_id(aws, "web"), IpPermissions=ssh
    )
    return DriftMade("aws_security_group", "web", "port 22 opened to 0.0.0.0/0")


def suspend_versioning(aws: Aws) -> DriftMade:
    aws.client("s3").put_bucket_versioning(
        Bucket="acme-prod-logs", VersioningConfiguration={"Status": "Suspended"}
    )
    return DriftMade("aws_s3_bucket", "acme-prod-logs", "versioning suspended")


def edit_tag(aws: Aws) -> DriftMade:
    aws.client("s3", WEST, staging=True).put_bucket_tagging(
        Bucket="acme-staging-assets",
        Tagging={"TagSet": [{"Key": "team", "Value": "web"}, {"Key": "owner", "Value": "jane"}]},
    )
    return DriftMade("aws_s3_bucket", "acme-staging-assets", "tag owner edited: web-team → jane")


def resize_instance(aws: Aws) -> DriftMade:
    ec2 = aws.client("ec2")
    ec2.modify_instance_attribute(
        InstanceId=_instance_id(aws, "api-1"), InstanceType={"Value": "t3.large"}
    )
    return DriftMade("aws_instance", "api-1", "resized t3.small → t3.large")


def delete_role(aws: Aws) -> DriftMade:
    aws.client("iam").delete_role(RoleName="reporting")
    return DriftMade("aws_iam_role", "reporting", "role deleted", "missing")


def unmanaged_bucket(aws: Aws, name: str = "acme-tmp-export") -> DriftMade:
    aws.client("s3").create_bucket(Bucket=name)
    return DriftMade("aws_s3_bucket", name, "bucket created by hand", "unmanaged")


STARTING_DRIFTS: tuple[Callable[[Aws], DriftMade], ...] = (
    open_ssh,
    suspend_versioning,
    edit_tag,
    resize_instance,
    delete_role,
    unmanaged_bucket,
)


def introduce_drifts(aws: Aws) -> list[DriftMade]:
    """The drifts the demo starts with, one of each everyday kind."""
    return [make(aws) for make in STARTING_DRIFTS]


# --- one more, on demand ---------------------------------------------------------------


def tag_assets(aws: Aws) -> DriftMade:
    aws.client("s3").put_bucket_tagging(
        Bucket="acme-prod-assets",
        Tagging={
            "TagSet": [{"Key": "team", "Value": "web"}, {"Key": "cost-center", "Value": "9999"}]
        },
    )
    return DriftMade("aws_s3_bucket", "acme-prod-assets", "tag cost-center edited: 1002 → 9999")


def open_database(aws: Aws) -> DriftMade:
    aws.client("ec2").authorize_security_group_ingress(
        GroupId=_sg_id(aws, "db"), IpPermissions=tcp_from(5432, "0.0.0.0/0")
    )
    return DriftMade("aws_security_group", "db", "port 5432 opened to 0.0.0.0/0")


def shorten_queue_timeout(aws: Aws) -> DriftMade:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "30"})
    return DriftMade("aws_sqs_queue", "orders", "visibility timeout 120 → 30 s")


def grow_function(aws: Aws) -> DriftMade:
    aws.client("lambda").update_function_configuration(FunctionName="thumbnailer", MemorySize=1024)
    return DriftMade("aws_lambda_function", "thumbnailer", "memory 256 → 1024 MB")


def shorten_retention(aws: Aws) -> DriftMade:
    aws.client("logs").put_retention_policy(logGroupName="/acme/api", retentionInDays=7)
    return DriftMade("aws_cloudwatch_log_group", "/acme/api", "retention 30 → 7 days")


def stop_key_rotation(aws: Aws) -> DriftMade:
    kms = aws.client("kms")
    key_id = kms.describe_key(KeyId="alias/acme-data")["KeyMetadata"]["KeyId"]
    kms.disable_key_rotation(KeyId=key_id)
    return DriftMade("aws_kms_key", "alias/acme-data", "key rotation disabled")


def rename_topic(aws: Aws) -> DriftMade:
    sns = aws.client("sns")
    arn = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":ops-alerts")
    )
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Ops")
    return DriftMade("aws_sns_topic", "ops-alerts", "display name 'Ops alerts' → 'Ops'")


def stop_table_backups(aws: Aws) -> DriftMade:
    aws.client("dynamodb").update_continuous_backups(
        TableName="sessions", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    return DriftMade("aws_dynamodb_table", "sessions", "point-in-time recovery disabled")


def shorten_db_backups(aws: Aws) -> DriftMade:
    aws.client("rds").modify_db_instance(
        DBInstanceIdentifier="orders-db", BackupRetentionPeriod=1, ApplyImmediately=True
    )
    return DriftMade("aws_db_instance", "orders-db", "backup retention 7 → 1 day")


def move_user(aws: Aws) -> DriftMade:
    aws.client("iam").tag_user(UserName="alice", Tags=[{"Key": "team", "Value": "finance"}])
    return DriftMade("aws_iam_user", "alice", "tag team edited: platform → finance")


RANDOM_DRIFTS: dict[str, Callable[[Aws], DriftMade]] = {
    f.__name__: f
    for f in (
        tag_assets,
        open_database,
        shorten_queue_timeout,
        grow_function,
        shorten_retention,
        stop_key_rotation,
        rename_topic,
        stop_table_backups,
        shorten_db_backups,
        move_user,
    )
}


def make_random_drift(
    aws: Aws, done: list[str], rng: random.Random | None = None
) -> tuple[str, DriftMade]:
    """One new drift on a resource still in sync; `done` names the ones already made.

    Returns (name, what it did); once every kind is used, each call creates another
    unmanaged bucket, so every call is a new drift.
    """
    left = [name for name in RANDOM_DRIFTS if name not in done]
    if not left:
        return "unmanaged_bucket", unmanaged_bucket(aws, f"acme-adhoc-{secrets.token_hex(3)}")
    name = (rng or random.Random()).choice(left)
    return name, RANDOM_DRIFTS[name](aws)


def drift_now(data_dir: Path) -> DriftMade:
    """Make one random drift on the running demo found in `data_dir`, and record it."""
    lock_path = data_dir / "demo.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the CLI and the dashboard may ask at once
        state = DemoState.load(data_dir)
        try:
            name, made = make_random_drift(Aws(state.endpoint_url), state.drifts_made)
        except (BotoCoreError, ClientError) as exc:
            raise DemoError(f"the demo's moto server refused the drift: {exc}") from None
        state.drifts_made.append(name)
        state.save(data_dir)
    return made
