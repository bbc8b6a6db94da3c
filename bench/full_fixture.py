"""Full-scan fixture: all 13 resource types in moto, 90% of each declared in a Git repository.

Each type is a `Kind`: how its i-th resource is named, seeded and declared, which of its
declared attributes a drifted resource differs in, and the change path that drift shows.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import boto3
from botocore.config import Config as BotoConfig
from scan_fixture import _git, _write_chunks, aws_tags

from driftwatch.demo import trust_policy

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
UNDECLARED_EVERY = 10  # every 10th resource of each type is live only: 10% unmanaged
USER_GROUPS = 5  # IAM groups the users are spread over
DEFAULT_COUNTS = {
    "aws_s3_bucket": 1000,
    "aws_security_group": 1000,
    "aws_iam_role": 200,
    "aws_instance": 100,
    "aws_iam_policy": 100,
    "aws_iam_user": 100,
    "aws_lambda_function": 100,
    "aws_dynamodb_table": 100,
    "aws_sqs_queue": 100,
    "aws_sns_topic": 100,
    "aws_db_instance": 100,
    "aws_kms_key": 100,
    "aws_cloudwatch_log_group": 100,
}
TYPES = tuple(DEFAULT_COUNTS)
EGRESS_ALL = [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]
Spec = dict[str, Any]


@dataclass(frozen=True)
class Item:
    """One seeded resource of some type."""

    type: str
    index: int
    declared: bool
    drifted: bool


@dataclass
class Context:
    """Facts the seeders and manifests share: counts, and values known only after seeding."""

    counts: dict[str, int]
    ami: str = ""

    def role_arn(self, i: int) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/app/{ROLE.name(i)}"

    def policy_arn(self, i: int) -> str:
        n = self.counts["aws_iam_policy"]
        return f"arn:aws:iam::{ACCOUNT}:policy/bench/{POLICY.name(i % n)}"


class Kind:
    """One resource type of the fixture."""

    type: ClassVar[str]
    service: ClassVar[str]
    prefix: ClassVar[str]
    drift_every: ClassVar[int] = 45  # two drifts in 90 declared
    changes: ClassVar[tuple[str, ...]]
    is_global: ClassVar[bool] = False

    def name(self, i: int) -> str:
        return f"{self.prefix}-{i:04d}"

    def declared_id(self, item: Item) -> str:
        return self.name(item.index)

    def tags(self, item: Item) -> dict[str, str]:
        return {"team": "platform", "env": "bench", "cost-center": f"cc-{item.index % 7}"}

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        raise NotImplementedError

    def spec(self, item: Item, ctx: Context) -> Spec:
        raise NotImplementedError


class S3Bucket(Kind):
    """Versioning on half the buckets; drift: a different `team` tag value live."""

    type, service, prefix, drift_every = "aws_s3_bucket", "s3", "dw-full", 100
    changes = ("tags.team",)

    def name(self, i: int) -> str:
        return f"dw-full-{i:05d}"

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        name, tags = self.name(item.index), self.tags(item)
        if item.drifted:
            tags = {**tags, "team": "data"}
        client.create_bucket(Bucket=name)
        client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": aws_tags(tags)})
        if self._versioning(item) == "Disabled":
            return 2
        conf = {"Status": "Enabled"}
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration=conf)
        return 3

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {"versioning": self._versioning(item), "tags": self.tags(item)}

    def _versioning(self, item: Item) -> str:
        return "Enabled" if item.index % 2 == 0 else "Disabled"


class SecurityGroup(Kind):
    """One HTTPS ingress rule each; drift: SSH opened to the world by hand."""

    type, service, prefix, drift_every = "aws_security_group", "ec2", "dw-full-sg", 450
    changes = ('ingress["tcp 22-22 0.0.0.0/0"]',)

    def name(self, i: int) -> str:
        return f"dw-full-sg-{i:05d}"

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        spec = [{"ResourceType": "security-group", "Tags": aws_tags(self.tags(item))}]
        gid = client.create_security_group(
            GroupName=self.name(item.index),
            Description=self._description(item),
            TagSpecifications=spec,
        )["GroupId"]
        rules = [_tcp(443, self._cidr(item))]
        if item.drifted:
            rules.append(_tcp(22, "0.0.0.0/0"))
        client.authorize_security_group_ingress(GroupId=gid, IpPermissions=rules)
        return 2

    def spec(self, item: Item, ctx: Context) -> Spec:
        rule = {"protocol": "tcp", "from_port": 443, "to_port": 443}
        return {
            "description": self._description(item),
            "ingress": [{**rule, "cidr_blocks": [self._cidr(item)]}],
            "egress": EGRESS_ALL,
            "tags": self.tags(item),
        }

    def _description(self, item: Item) -> str:
        return f"driftwatch full bench group {item.index}"

    def _cidr(self, item: Item) -> str:
        return f"10.{item.index // 256 % 256}.{item.index % 256}.0/24"


class Instance(Kind):
    """A t3.micro per `Name` tag; drift: resized to t3.small."""

    type, service, prefix = "aws_instance", "ec2", "dw-full-vm"
    changes = ("instance_type",)

    def tags(self, item: Item) -> dict[str, str]:
        return {"Name": self.name(item.index), **super().tags(item)}

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        client.run_instances(
            ImageId=ctx.ami,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.small" if item.drifted else "t3.micro",
            TagSpecifications=[{"ResourceType": "instance", "Tags": aws_tags(self.tags(item))}],
        )
        return 1

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {"instance_type": "t3.micro", "ami": ctx.ami, "tags": self.tags(item)}


def _statement(actions: list[str], resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


class IamPolicy(Kind):
    """Read access to one bucket; drift: a write action added to the default version."""

    type, service, prefix, is_global = "aws_iam_policy", "iam", "dw-full-policy", True
    changes = ("policy.Statement",)

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        actions = ["s3:GetObject", "s3:PutObject"] if item.drifted else ["s3:GetObject"]
        client.create_policy(
            PolicyName=self.name(item.index),
            Path="/bench/",
            PolicyDocument=json.dumps(self._document(item, actions)),
            Description=f"read bucket {item.index}",
            Tags=aws_tags(self.tags(item)),
        )
        return 1

    def spec(self, item: Item, ctx: Context) -> Spec:
        doc = self._document(item, ["s3:GetObject"])
        return {"policy": doc, "path": "/bench/", "tags": self.tags(item)}

    def _document(self, item: Item, actions: list[str]) -> dict[str, Any]:
        resource = f"arn:aws:s3:::{S3.name(item.index)}/*"
        return {"Version": "2012-10-17", "Statement": [_statement(actions, resource)]}


LAMBDA_TRUST = trust_policy("lambda.amazonaws.com")


class IamRole(Kind):
    """A Lambda-trusting role with one attached policy; drift: a second policy attached."""

    type, service, prefix, drift_every, is_global = "aws_iam_role", "iam", "dw-full-role", 90, True
    changes = ("managed_policy_arns",)

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        name = self.name(item.index)
        client.create_role(
            RoleName=name,
            Path="/app/",
            AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
            Tags=aws_tags(self.tags(item)),
        )
        arns = self._arns(item, ctx, live=True)
        for arn in arns:
            client.attach_role_policy(RoleName=name, PolicyArn=arn)
        return 1 + len(arns)

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {
            "assume_role_policy": LAMBDA_TRUST,
            "path": "/app/",
            "managed_policy_arns": self._arns(item, ctx, live=False),
            "tags": self.tags(item),
        }

    def _arns(self, item: Item, ctx: Context, live: bool) -> list[str]:
        arns = [ctx.policy_arn(item.index)]
        extra = ctx.policy_arn(item.index + 1)
        return [*arns, extra] if live and item.drifted and extra not in arns else arns


class IamUser(Kind):
    """A user in one of a few groups; drift: added to a second group by hand."""

    type, service, prefix, is_global = "aws_iam_user", "iam", "dw-full-user", True
    changes = ("groups",)

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        name = self.name(item.index)
        client.create_user(UserName=name, Path="/people/", Tags=aws_tags(self.tags(item)))
        groups = self._groups(item, live=True)
        for group in groups:
            client.add_user_to_group(GroupName=group, UserName=name)
        return 1 + len(groups)

    def spec(self, item: Item, ctx: Context) -> Spec:
        groups = self._groups(item, live=False)
        return {"path": "/people/", "groups": groups, "tags": self.tags(item)}

    def _groups(self, item: Item, live: bool) -> list[str]:
        first = group_name(item.index % USER_GROUPS)
        if live and item.drifted:
            return [first, group_name((item.index + 1) % USER_GROUPS)]
        return [first]


def group_name(i: int) -> str:
    return f"dw-full-group-{i}"


def code_zip() -> bytes:
    """A tiny deployment package; moto stores it and never runs it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    return buf.getvalue()


CODE = code_zip()


class LambdaFunction(Kind):
    """A Python function run by role 0; drift: memory raised to 256 MB."""

    type, service, prefix = "aws_lambda_function", "lambda", "dw-full-fn"
    changes = ("memory_size",)

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        client.create_function(
            FunctionName=self.name(item.index),
            Runtime="python3.12",
            Role=ctx.role_arn(0),
            Handler="app.handler",
            Code={"ZipFile": CODE},
            MemorySize=256 if item.drifted else 128,
            Timeout=30,
            Tags=self.tags(item),
        )
        return 1

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {"runtime": "python3.12", "memory_size": 128, "timeout": 30, "tags": self.tags(item)}


class DynamoDbTable(Kind):
    """A provisioned table keyed by `pk`; drift: switched to on-demand."""

    type, service, prefix = "aws_dynamodb_table", "dynamodb", "dw-full-table"
    changes = ("billing_mode",)

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        billing: dict[str, Any] = (
            {"BillingMode": "PAY_PER_REQUEST"}
            if item.drifted
            else {
                "BillingMode": "PROVISIONED",
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            }
        )
        client.create_table(
            TableName=self.name(item.index),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            Tags=aws_tags(self.tags(item)),
            **billing,
        )
        return 1

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {"billing_mode": "PROVISIONED", "hash_key": "pk", "tags": self.tags(item)}


class SqsQueue(Kind):
    """A standard queue; drift: visibility timeout raised by hand."""

    type, service, prefix = "aws_sqs_queue", "sqs", "dw-full-queue"
    changes = ("visibility_timeout_seconds",)

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        attrs = {
            "VisibilityTimeout": "120" if item.drifted else "60",
            "MessageRetentionPeriod": "1209600",
        }
        client.create_queue(QueueName=self.name(item.index), Attributes=attrs, tags=self.tags(item))
        return 1

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {
            "visibility_timeout_seconds": 60,
            "message_retention_seconds": 1209600,
            "tags": self.tags(item),
        }


class SnsTopic(Kind):
    """A topic with a display name; drift: renamed by hand."""

    type, service, prefix = "aws_sns_topic", "sns", "dw-full-topic"
    changes = ("display_name",)

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        display = "Renamed by hand" if item.drifted else self._display(item)
        client.create_topic(
            Name=self.name(item.index),
            Attributes={"DisplayName": display},
            Tags=aws_tags(self.tags(item)),
        )
        return 1

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {"display_name": self._display(item), "tags": self.tags(item)}

    def _display(self, item: Item) -> str:
        return f"Bench topic {item.index}"


class DbInstance(Kind):
    """A small PostgreSQL instance; drift: storage grown to 50 GiB."""

    type, service, prefix = "aws_db_instance", "rds", "dw-full-db"
    changes = ("allocated_storage",)

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        client.create_db_instance(
            DBInstanceIdentifier=self.name(item.index),
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="bench",
            MasterUserPassword="bench-password-1",
            AllocatedStorage=50 if item.drifted else 20,
            Tags=aws_tags(self.tags(item)),
        )
        return 1

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {
            "engine": "postgres",
            "instance_class": "db.t3.micro",
            "allocated_storage": 20,
            "tags": self.tags(item),
        }


class KmsKey(Kind):
    """A symmetric key with an alias and rotation; drift: rotation never enabled."""

    type, service, prefix = "aws_kms_key", "kms", "dw-full-key"
    changes = ("enable_key_rotation",)

    def declared_id(self, item: Item) -> str:
        return f"alias/{self.name(item.index)}"

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        tags = [{"TagKey": k, "TagValue": v} for k, v in self.tags(item).items()]
        key_id = client.create_key(Description=self._description(item), Tags=tags)["KeyMetadata"][
            "KeyId"
        ]
        client.create_alias(AliasName=self.declared_id(item), TargetKeyId=key_id)
        if item.drifted:
            return 2
        client.enable_key_rotation(KeyId=key_id)
        return 3

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {
            "description": self._description(item),
            "enable_key_rotation": True,
            "tags": self.tags(item),
        }

    def _description(self, item: Item) -> str:
        return f"bench key {item.index}"


class LogGroup(Kind):
    """A log group kept 30 days; drift: retention raised to 90 days."""

    type, service, prefix = "aws_cloudwatch_log_group", "logs", "dw-full-logs"
    changes = ("retention_in_days",)

    def name(self, i: int) -> str:
        return f"/dw-full/app-{i:04d}"

    def seed(self, client: Any, item: Item, ctx: Context) -> int:
        name = self.name(item.index)
        client.create_log_group(logGroupName=name, tags=self.tags(item))
        days = 90 if item.drifted else 30
        client.put_retention_policy(logGroupName=name, retentionInDays=days)
        return 2

    def spec(self, item: Item, ctx: Context) -> Spec:
        return {"retention_in_days": 30, "tags": self.tags(item)}


S3, ROLE, POLICY = S3Bucket(), IamRole(), IamPolicy()
KINDS: dict[str, Kind] = {
    k.type: k
    for k in (
        S3,
        SecurityGroup(),
        ROLE,
        Instance(),
        POLICY,
        IamUser(),
        LambdaFunction(),
        DynamoDbTable(),
        SqsQueue(),
        SnsTopic(),
        DbInstance(),
        KmsKey(),
        LogGroup(),
    )
}


def _tcp(port: int, cidr: str) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}


# --- the estate --------------------------------------------------------------------------


@dataclass
class Fixture:
    """Every seeded resource by type, and the findings a correct scan must report."""

    items: dict[str, list[Item]]
    ctx: Context

    def declared(self, rtype: str) -> list[Item]:
        return [i for i in self.items[rtype] if i.declared]

    def declared_ids(self, rtype: str) -> set[str]:
        return {KINDS[rtype].declared_id(i) for i in self.declared(rtype)}

    def modified(self, types: tuple[str, ...] = TYPES) -> set[tuple[str, str]]:
        """(type, declared id) of every injected drift."""
        return {(t, KINDS[t].declared_id(i)) for t in types for i in self.items[t] if i.drifted}

    def unmanaged(self, types: tuple[str, ...] = TYPES) -> set[tuple[str, str]]:
        """(type, name) of every live resource declared nowhere."""
        return {
            (t, KINDS[t].declared_id(i)) for t in types for i in self.items[t] if not i.declared
        }

    def in_sync(self, types: tuple[str, ...] = TYPES) -> int:
        declared = sum(len(self.declared(t)) for t in types)
        return declared - len(self.modified(types))

    def live_count(self, rtype: str) -> int:
        return len(self.items[rtype])


def scaled_counts(scale: float) -> dict[str, int]:
    """The default counts times `scale`, at least one resource of each type."""
    return {t: max(1, round(n * scale)) for t, n in DEFAULT_COUNTS.items()}


def build_fixture(counts: dict[str, int]) -> Fixture:
    """A deterministic estate with counts[type] resources of each type."""
    items = {t: [_item(t, i) for i in range(n)] for t, n in counts.items()}
    return Fixture(items, Context(dict(counts)))


def _item(rtype: str, i: int) -> Item:
    declared = i % UNDECLARED_EVERY != UNDECLARED_EVERY - 1
    nth_declared = i - i // UNDECLARED_EVERY
    return Item(rtype, i, declared, declared and nth_declared % KINDS[rtype].drift_every == 0)


# --- seeding moto ------------------------------------------------------------------------


def seed(endpoint: str, fixture: Fixture, workers: int) -> int:
    """Create the whole estate in moto; return the number of calls made.

    S3 is seeded by a thread pool; every other service by one thread each (moto's EC2
    backend fails concurrent CreateSecurityGroup calls, and IAM has an order: policies
    and groups before roles and users, roles before the Lambda functions that use one).
    """
    config = BotoConfig(s3={"addressing_style": "path"}, max_pool_connections=workers + 2)
    clients: dict[str, Any] = {}
    for service in {k.service for k in KINDS.values()}:
        clients[service] = boto3.client(
            service, region_name=REGION, endpoint_url=endpoint, config=config
        )
    fixture.ctx.ami = clients["ec2"].describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    with (
        ThreadPoolExecutor(len(_CHAINS), thread_name_prefix="seed") as chains,
        ThreadPoolExecutor(workers, thread_name_prefix="seed-s3") as pool,
    ):
        done = [chains.submit(chain, clients, fixture) for chain in _CHAINS]
        s3 = _seed_all(S3, clients["s3"], fixture, pool.map)
        return s3 + sum(f.result() for f in done) + 1


def _seed_all(kind: Kind, client: Any, fixture: Fixture, mapper: Callable[..., Any] = map) -> int:
    items = fixture.items[kind.type]
    return sum(mapper(lambda item: kind.seed(client, item, fixture.ctx), items))


def _seed_types(*types: str) -> Callable[[dict[str, Any], Fixture], int]:
    def chain(clients: dict[str, Any], fixture: Fixture) -> int:
        return sum(_seed_all(KINDS[t], clients[KINDS[t].service], fixture) for t in types)

    return chain


def _seed_iam(clients: dict[str, Any], fixture: Fixture) -> int:
    for g in range(USER_GROUPS):
        clients["iam"].create_group(GroupName=group_name(g))
    iam = ("aws_iam_policy", "aws_iam_role", "aws_iam_user")
    return USER_GROUPS + _seed_types(*iam, "aws_lambda_function")(clients, fixture)


_CHAINS: list[Callable[[dict[str, Any], Fixture], int]] = [
    _seed_types("aws_security_group", "aws_instance"),
    _seed_iam,
    *(
        _seed_types(t)
        for t in (
            "aws_dynamodb_table",
            "aws_sqs_queue",
            "aws_sns_topic",
            "aws_db_instance",
            "aws_kms_key",
            "aws_cloudwatch_log_group",
        )
    ),
]


# --- declaring in Git --------------------------------------------------------------------


def folder(rtype: str) -> str:
    """The manifest folder of a type (`s3_bucket` for `aws_s3_bucket`)."""
    return rtype.removeprefix("aws_")


def write_repo(repo: Path, fixture: Fixture) -> int:
    """Write the declared resources as manifests, one folder per type; return the file count."""
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    files = 0
    for rtype, kind in KINDS.items():
        entries = [_entry(kind, item, fixture.ctx) for item in fixture.declared(rtype)]
        files += _write_chunks(repo / folder(rtype), folder(rtype), entries)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "full bench manifests")
    return files


def _entry(kind: Kind, item: Item, ctx: Context) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind.type, "id": kind.declared_id(item)}
    if not kind.is_global:
        entry["region"] = REGION
    entry["spec"] = kind.spec(item, ctx)
    return entry
