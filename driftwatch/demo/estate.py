"""The demo's estate: a small AWS shop (two accounts, two regions, all 13 types) on moto.

`seed` creates the live side and returns the ids the manifests need; `manifests` writes
the Git side as a team would; `introduce_drifts` then changes the live side the way
people do by hand. Everything talks to the demo's moto server only (`require_loopback`).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

from driftwatch.demo import (
    EAST,
    PROD_ACCOUNT_ID,
    STAGING_ACCOUNT_ID,
    WEST,
    require_loopback,
    trust_policy,
)

Client = Any
# Explicit: whatever credentials this machine has for real AWS are never used.
DEMO_CREDS = {"aws_access_key_id": "demo", "aws_secret_access_key": "demo"}


@dataclass
class Aws:
    """boto3 clients on the demo's moto server, in the prod account or the staging one."""

    url: str
    _staging: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_loopback(self.url)

    def client(self, service: str, region: str = EAST, staging: bool = False) -> Client:
        creds = self.staging_creds() if staging else DEMO_CREDS
        return boto3.client(service, region_name=region, endpoint_url=self.url, **creds)

    def staging_creds(self) -> dict[str, str]:
        """moto picks the account by assume-role: credentials inside the staging account."""
        if not self._staging:
            sts = boto3.client("sts", region_name=EAST, endpoint_url=self.url, **DEMO_CREDS)
            arn = f"arn:aws:iam::{STAGING_ACCOUNT_ID}:role/demo-seed"
            c = sts.assume_role(RoleArn=arn, RoleSessionName="demo")["Credentials"]
            self._staging = {
                "aws_access_key_id": c["AccessKeyId"],
                "aws_secret_access_key": c["SecretAccessKey"],
                "aws_session_token": c["SessionToken"],
            }
        return self._staging


Ids = dict[str, str]


# --- one helper per resource type --------------------------------------------------------


def bucket(s3: Client, name: str, region: str, tags: dict[str, str], versioned: bool) -> None:
    kw = {} if region == EAST else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **kw)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(tags)})


def security_group(ec2: Client, name: str, desc: str, ingress: list[dict[str, Any]]) -> str:
    sg = ec2.create_security_group(
        GroupName=name,
        Description=desc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags({"team": "web"})}],
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=ingress)
    return str(sg)


def https_from_anywhere() -> list[dict[str, Any]]:
    return [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "HTTPS"}],
        }
    ]


def tcp_from(port: int, cidr: str) -> list[dict[str, Any]]:
    return [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}]


def amazon_linux(ec2: Client) -> str:
    """An Amazon Linux 2 AMI id of the region (named: listing all of moto's takes seconds)."""
    images = ec2.describe_images(
        Owners=["amazon"], Filters=[{"Name": "name", "Values": ["amzn2-ami-hvm-*"]}]
    )["Images"]
    return str(min(images, key=lambda i: i["ImageId"])["ImageId"])


def instance(ec2: Client, name: str, ami: str, sg: str, size: str, tags: dict[str, str]) -> str:
    got = ec2.run_instances(
        ImageId=ami,
        MinCount=1,
        MaxCount=1,
        InstanceType=size,
        SecurityGroupIds=[sg],
        TagSpecifications=[{"ResourceType": "instance", "Tags": _tags({"Name": name, **tags})}],
    )
    return str(got["Instances"][0]["InstanceId"])


def role(iam: Client, name: str, service: str, tags: dict[str, str]) -> str:
    got = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(trust_policy(service)),
        Description=f"{name} ({service})",
        Tags=_tags(tags),
    )
    return str(got["Role"]["Arn"])


def function(lam: Client, name: str, role_arn: str) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
        MemorySize=256,
        Timeout=30,
        Tags={"team": "media"},
    )


def code_zip() -> bytes:
    """A tiny deployment package; moto stores it and never runs it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    return buf.getvalue()


def log_group(logs: Client, name: str) -> None:
    logs.create_log_group(logGroupName=name, tags={"team": "api"})
    logs.put_retention_policy(logGroupName=name, retentionInDays=30)


def table(ddb: Client, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=_tags({"team": "api"}),
    )
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def queues(sqs: Client, name: str) -> None:
    """A queue and its dead-letter queue `<name>-dlq`."""
    dlq = sqs.create_queue(QueueName=f"{name}-dlq", tags={"team": "orders"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "120",
            "MessageRetentionPeriod": "1209600",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
        },
        tags={"team": "orders"},
    )


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# --- the estate -------------------------------------------------------------------------


def seed(aws: Aws) -> Ids:
    """Create every live resource of the estate; returns the ids its manifests need."""
    ids: Ids = {"prod_account": PROD_ACCOUNT_ID}
    ids.update(_seed_prod_east(aws))
    ids.update(_seed_prod_west(aws))
    ids.update(_seed_staging(aws))
    return ids


def _seed_prod_east(aws: Aws) -> Ids:
    ec2 = aws.client("ec2")
    ami = amazon_linux(ec2)
    web = security_group(ec2, "web", "web tier", https_from_anywhere())
    db = security_group(ec2, "db", "database tier", tcp_from(5432, "10.0.0.0/16"))
    for name in ("api-1", "api-2"):
        instance(ec2, name, ami, web, "t3.small", {"team": "api", "env": "prod"})
    s3 = aws.client("s3")
    bucket(s3, "acme-prod-logs", EAST, {"team": "platform", "cost-center": "1001"}, True)
    bucket(s3, "acme-prod-assets", EAST, {"team": "web", "cost-center": "1002"}, True)
    iam = aws.client("iam")
    role(iam, "api-app", "ec2.amazonaws.com", {"team": "api"})
    role(iam, "reporting", "ec2.amazonaws.com", {"team": "data"})
    exec_arn = role(iam, "thumbnailer-exec", "lambda.amazonaws.com", {"team": "media"})
    iam.create_policy(
        PolicyName="read-assets",
        Path="/app/",
        Description="read the public assets bucket",
        PolicyDocument=json.dumps(_read_assets_policy()),
        Tags=_tags({"team": "web"}),
    )
    for user, path in (("alice", "/people/"), ("deploy-bot", "/machines/")):
        iam.create_user(UserName=user, Path=path, Tags=_tags({"team": "platform"}))
    kms = aws.client("kms")
    key = kms.create_key(
        Description="application data", Tags=[{"TagKey": "team", "TagValue": "platform"}]
    )
    kms.create_alias(AliasName="alias/acme-data", TargetKeyId=key["KeyMetadata"]["KeyId"])
    kms.enable_key_rotation(KeyId=key["KeyMetadata"]["KeyId"])
    function(aws.client("lambda"), "thumbnailer", exec_arn)
    log_group(aws.client("logs"), "/acme/api")
    aws.client("rds").create_db_instance(
        DBInstanceIdentifier="orders-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        EngineVersion="15.4",
        MasterUsername="orders_admin",
        MasterUserPassword="demo-only-not-a-secret",
        AllocatedStorage=50,
        StorageEncrypted=True,
        BackupRetentionPeriod=7,
        DeletionProtection=True,
        Tags=_tags({"team": "orders"}),
    )
    aws.client("sns").create_topic(
        Name="ops-alerts", Attributes={"DisplayName": "Ops alerts"}, Tags=_tags({"team": "ops"})
    )
    queues(aws.client("sqs"), "orders")
    table(aws.client("dynamodb"), "sessions")
    return {"ami_east": ami, "sg_web_east": web, "sg_db_east": db, "thumbnailer_role": exec_arn}


def _read_assets_policy() -> dict[str, Any]:
    statement = {
        "Sid": "ReadAssets",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": ["arn:aws:s3:::acme-prod-assets", "arn:aws:s3:::acme-prod-assets/*"],
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def _seed_prod_west(aws: Aws) -> Ids:
    ec2 = aws.client("ec2", WEST)
    ami = amazon_linux(ec2)
    web = security_group(ec2, "web", "web tier", https_from_anywhere())
    instance(ec2, "api-eu-1", ami, web, "t3.small", {"team": "api", "env": "prod"})
    bucket(aws.client("s3", WEST), "acme-eu-customer-data", WEST, {"team": "data"}, True)
    log_group(aws.client("logs", WEST), "/acme/api")
    table(aws.client("dynamodb", WEST), "sessions")
    return {"ami_west": ami, "sg_web_west": web}


def _seed_staging(aws: Aws) -> Ids:
    ec2 = aws.client("ec2", WEST, staging=True)
    ami = amazon_linux(ec2)
    web = security_group(ec2, "web", "web tier", https_from_anywhere())
    instance(ec2, "api-staging-1", ami, web, "t3.micro", {"team": "api", "env": "staging"})
    tags = {"team": "web", "owner": "web-team"}
    bucket(aws.client("s3", WEST, staging=True), "acme-staging-assets", WEST, tags, False)
    role(aws.client("iam", staging=True), "api-app", "ec2.amazonaws.com", {"team": "api"})
    queues(aws.client("sqs", WEST, staging=True), "orders")
    table(aws.client("dynamodb", WEST, staging=True), "sessions")
    return {"ami_staging": ami, "sg_web_staging": web}
