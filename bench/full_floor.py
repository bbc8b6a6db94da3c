"""The raw boto3 floor for all 13 types: the fewest calls behind the declared attributes.

Per type, the listing driftwatch's collector makes, then, for each declared resource the
listing found, exactly the detail calls that feed the attributes the fixture declares
(see bench/full_fixture.py for what each type declares):

| type | listing | per declared resource |
|---|---|---|
| aws_s3_bucket | ListBuckets(BucketRegion) | GetBucketVersioning, GetBucketTagging |
| aws_security_group | DescribeSecurityGroups | (all from the listing) |
| aws_instance | DescribeInstances | (all from the listing) |
| aws_iam_role | ListRoles | one GetAccountAuthorizationDetails(Role) for all (attached, tags) |
| aws_iam_policy | ListPolicies(Local) | GetPolicyVersion (document), GetPolicy (tags) |
| aws_iam_user | ListUsers | ListUserTags, ListGroupsForUser |
| aws_lambda_function | ListFunctions | ListTags |
| aws_dynamodb_table | ListTables | DescribeTable, then ListTagsOfResource(its ARN) |
| aws_sqs_queue | ListQueues | GetQueueAttributes, ListQueueTags |
| aws_sns_topic | ListTopics | GetTopicAttributes, ListTagsForResource |
| aws_db_instance | DescribeDBInstances | (all from the listing) |
| aws_kms_key | ListKeys, ListAliases | DescribeKey, GetKeyRotationStatus, ListResourceTags |
| aws_cloudwatch_log_group | DescribeLogGroups | ListTagsForResource |

Like driftwatch, every listing is submitted to one pool of `max_concurrency` threads first,
and a type's detail reads are submitted as soon as its listing is done. The roles'
GetAccountAuthorizationDetails needs nothing from the listing, so it starts with it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import boto3
from full_fixture import KINDS, REGION, TYPES
from scan_floor import boto_config

from driftwatch.config import AwsConfig

Listed = dict[str, Any]  # declared id → what the detail reads need (name, ARN, URL, key id)
Read = Callable[[Any, Any], Any]


@dataclass
class FullFloorRun:
    """One floor measurement: wall time, calls, and what was listed and read per type."""

    wall_s: float
    cpu_s: float
    api_calls: int
    calls_by_op: dict[str, int] = field(default_factory=dict)
    listed: dict[str, int] = field(default_factory=dict)
    reads: dict[str, int] = field(default_factory=dict)


class OpCount:
    """A botocore `before-call` handler counting requests by operation, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_op: Counter[str] = Counter()

    def __call__(self, model: Any = None, **_: Any) -> None:
        with self._lock:
            self.by_op[model.name if model is not None else "?"] += 1


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    pages = client.get_paginator(operation).paginate(**params)
    return [item for page in pages for item in page.get(key, [])]


# --- listings: declared id → handle ------------------------------------------------------


def list_buckets(s3: Any) -> Listed:
    params: dict[str, Any] = {"BucketRegion": REGION}
    out: Listed = {}
    while True:
        resp = s3.list_buckets(**params)
        out.update({b["Name"]: b["Name"] for b in resp.get("Buckets", [])})
        if not resp.get("ContinuationToken"):
            return out
        params["ContinuationToken"] = resp["ContinuationToken"]


def list_groups(ec2: Any) -> Listed:
    return {g["GroupName"]: g for g in _pages(ec2, "describe_security_groups", "SecurityGroups")}


def list_instances(ec2: Any) -> Listed:
    out: Listed = {}
    for reservation in _pages(ec2, "describe_instances", "Reservations"):
        for inst in reservation["Instances"]:
            if inst["State"]["Name"] not in ("terminated", "shutting-down"):
                name = next((t["Value"] for t in inst.get("Tags", []) if t["Key"] == "Name"), "")
                out[name or inst["InstanceId"]] = inst
    return out


def list_roles(iam: Any) -> Listed:
    return {r["RoleName"]: r for r in _pages(iam, "list_roles", "Roles")}


def list_policies(iam: Any) -> Listed:
    return {p["PolicyName"]: p for p in _pages(iam, "list_policies", "Policies", Scope="Local")}


def list_users(iam: Any) -> Listed:
    return {u["UserName"]: u["UserName"] for u in _pages(iam, "list_users", "Users")}


def list_functions(lam: Any) -> Listed:
    fns = _pages(lam, "list_functions", "Functions")
    return {f["FunctionName"]: f["FunctionArn"] for f in fns}


def list_tables(ddb: Any) -> Listed:
    return {t: t for t in _pages(ddb, "list_tables", "TableNames")}


def list_queues(sqs: Any) -> Listed:
    urls = _pages(sqs, "list_queues", "QueueUrls", PaginationConfig={"PageSize": 1000})
    return {u.rstrip("/").rsplit("/", 1)[-1]: u for u in urls}


def list_topics(sns: Any) -> Listed:
    arns = [t["TopicArn"] for t in _pages(sns, "list_topics", "Topics")]
    return {a.rsplit(":", 1)[-1]: a for a in arns}


def list_db_instances(rds: Any) -> Listed:
    dbs = _pages(rds, "describe_db_instances", "DBInstances")
    return {d["DBInstanceIdentifier"]: d for d in dbs}


def list_keys(kms: Any) -> Listed:
    keys = {k["KeyId"] for k in _pages(kms, "list_keys", "Keys")}
    aliases = _pages(kms, "list_aliases", "Aliases")
    named = {a["AliasName"]: a["TargetKeyId"] for a in aliases if a.get("TargetKeyId") in keys}
    return {**{k: k for k in keys}, **named}


def list_log_groups(logs: Any) -> Listed:
    groups = _pages(logs, "describe_log_groups", "logGroups")
    return {g["logGroupName"]: g["arn"].removesuffix(":*") for g in groups}


# --- detail reads ------------------------------------------------------------------------


def read_policy(iam: Any, policy: dict[str, Any]) -> None:
    iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
    iam.get_policy(PolicyArn=policy["Arn"])


def read_table(ddb: Any, name: str) -> None:
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    _pages(ddb, "list_tags_of_resource", "Tags", ResourceArn=arn)


READS: dict[str, tuple[Read, ...]] = {
    "aws_s3_bucket": (
        lambda s3, name: s3.get_bucket_versioning(Bucket=name),
        lambda s3, name: s3.get_bucket_tagging(Bucket=name),
    ),
    "aws_security_group": (),
    "aws_instance": (),
    "aws_iam_role": (),  # one GetAccountAuthorizationDetails instead: see run_full_floor
    "aws_iam_policy": (read_policy,),
    "aws_iam_user": (
        lambda iam, name: _pages(iam, "list_user_tags", "Tags", UserName=name),
        lambda iam, name: _pages(iam, "list_groups_for_user", "Groups", UserName=name),
    ),
    "aws_lambda_function": (lambda lam, arn: lam.list_tags(Resource=arn),),
    "aws_dynamodb_table": (read_table,),
    "aws_sqs_queue": (
        lambda sqs, url: sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["VisibilityTimeout", "MessageRetentionPeriod"]
        ),
        lambda sqs, url: sqs.list_queue_tags(QueueUrl=url),
    ),
    "aws_sns_topic": (
        lambda sns, arn: sns.get_topic_attributes(TopicArn=arn),
        lambda sns, arn: sns.list_tags_for_resource(ResourceArn=arn),
    ),
    "aws_db_instance": (),
    "aws_kms_key": (
        lambda kms, key: kms.describe_key(KeyId=key),
        lambda kms, key: kms.get_key_rotation_status(KeyId=key),
        lambda kms, key: _pages(kms, "list_resource_tags", "Tags", KeyId=key),
    ),
    "aws_cloudwatch_log_group": (lambda logs, arn: logs.list_tags_for_resource(resourceArn=arn),),
}
LISTINGS: dict[str, Callable[[Any], Listed]] = {
    "aws_s3_bucket": list_buckets,
    "aws_security_group": list_groups,
    "aws_instance": list_instances,
    "aws_iam_role": list_roles,
    "aws_iam_policy": list_policies,
    "aws_iam_user": list_users,
    "aws_lambda_function": list_functions,
    "aws_dynamodb_table": list_tables,
    "aws_sqs_queue": list_queues,
    "aws_sns_topic": list_topics,
    "aws_db_instance": list_db_instances,
    "aws_kms_key": list_keys,
    "aws_cloudwatch_log_group": list_log_groups,
}


def role_details(iam: Any, declared: set[str]) -> int:
    """Attached policies and tags of every role in one paginated call; declared roles found."""
    roles = _pages(iam, "get_account_authorization_details", "RoleDetailList", Filter=["Role"])
    return sum(1 for r in roles if r["RoleName"] in declared)


# --- the run -----------------------------------------------------------------------------


def run_full_floor(
    aws: AwsConfig, declared: dict[str, set[str]], types: tuple[str, ...] = TYPES
) -> FullFloorRun:
    """List every type, then read the declared resources' details, in one bounded pool."""
    t0, c0 = time.perf_counter(), time.process_time()
    count = OpCount()
    session = boto3.Session()
    services = {KINDS[t].service for t in types}
    clients = {s: _client(session, aws, s, count) for s in sorted(services)}
    run = FullFloorRun(0.0, 0.0, 0)
    with ThreadPoolExecutor(aws.max_concurrency, thread_name_prefix="floor") as pool:
        lists = {pool.submit(LISTINGS[t], clients[KINDS[t].service]): t for t in types}
        roles = None
        if "aws_iam_role" in types:
            roles = pool.submit(role_details, clients["iam"], declared["aws_iam_role"])
        reads: list[tuple[str, Future[Any]]] = []
        for fut in as_completed(lists):
            rtype = lists[fut]
            reads += _submit_reads(pool, clients[KINDS[rtype].service], rtype, fut, declared, run)
        for rtype, fut in reads:
            fut.result()
            run.reads[rtype] = run.reads.get(rtype, 0) + 1
        if roles is not None:
            run.reads["aws_iam_role"] = roles.result()
    run.wall_s, run.cpu_s = time.perf_counter() - t0, time.process_time() - c0
    run.calls_by_op = dict(count.by_op)
    run.api_calls = sum(count.by_op.values())
    return run


def _submit_reads(
    pool: ThreadPoolExecutor,
    client: Any,
    rtype: str,
    listing: Future[Listed],
    declared: dict[str, set[str]],
    run: FullFloorRun,
) -> list[tuple[str, Future[Any]]]:
    listed = listing.result()
    run.listed[rtype] = _live_count(rtype, listed)
    handles = [h for name, h in listed.items() if name in declared[rtype]]
    return [(rtype, pool.submit(read, client, h)) for h in handles for read in READS[rtype]]


def _live_count(rtype: str, listed: Listed) -> int:
    """Live resources listed (KMS keys appear once by id and once per alias)."""
    if rtype == "aws_kms_key":
        return len(set(listed.values()))
    return len(listed)


def _client(session: boto3.Session, aws: AwsConfig, service: str, count: OpCount) -> Any:
    client = session.client(
        service, region_name=REGION, endpoint_url=aws.endpoint_url, config=boto_config(aws)
    )
    client.meta.events.register("before-call", count)
    return client
