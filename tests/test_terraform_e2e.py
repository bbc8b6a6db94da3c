"""Terraform state from moto S3, end to end through the CLI."""

from __future__ import annotations

import json
import sqlite3
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from support import tfstate as tf
from support.env import Aws, ManifestRepo, run_cli, scan, write_config

from driftwatch.aws import AwsSessions, CallCounter
from driftwatch.config import load_config
from driftwatch.declared.terraform.load import load_terraform
from driftwatch.declared.terraform.sources import ReadContext

SECRET = "hunter2-planted"
DEV = "222222222222"


def app_state(sg_id: str) -> dict[str, Any]:
    worker = {
        "function_name": "worker",
        "arn": "arn:aws:lambda:us-east-1:123456789012:function:worker",
        "role": "arn:aws:iam::123456789012:role/app",
        "runtime": "python3.12",
        "handler": "app.handler",
        "memory_size": 128,
        "timeout": 3,
        "layers": [],
        "tags": {},
        "tags_all": {},
        "environment": [{"variables": {"DB_PASSWORD": f"{SECRET}-env"}}],
    }
    role = tf.role("app", tf.TRUST, description=f"{SECRET}-sensitive")
    return tf.state(
        tf.resource("aws_s3_bucket", "logs", tf.instance(tf.bucket("logs", tags={"team": "x"}))),
        tf.resource("aws_s3_bucket", "gone", tf.instance(tf.bucket("gone"))),
        tf.resource("aws_security_group", "web", tf.instance(tf.security_group(sg_id, "web", "v"))),
        tf.resource(
            "aws_vpc_security_group_ingress_rule",
            "https",
            tf.instance(tf.ingress_rule(sg_id, 443, "0.0.0.0/0")),
        ),
        tf.resource(
            "aws_iam_role", "app", tf.instance(role, sensitive=[[tf.get_attr("description")]])
        ),
        tf.resource(
            "aws_iam_role_policy_attachment",
            "ro",
            tf.instance(
                {"id": "app-1", "role": "app", "policy_arn": "arn:aws:iam::aws:policy/ReadOnly"}
            ),
        ),
        tf.resource("aws_lambda_function", "worker", tf.instance(worker)),
        outputs={"db_password": {"value": f"{SECRET}-output", "type": "string", "sensitive": True}},
    )


def seed(aws: Aws) -> tuple[str, dict[str, bytes]]:
    s3, ec2, iam = aws.client("s3"), aws.client("ec2"), aws.client("iam")
    s3.create_bucket(Bucket="logs")
    s3.put_bucket_tagging(Bucket="logs", Tagging={"TagSet": [{"Key": "team", "Value": "y"}]})
    s3.create_bucket(Bucket="logs-staging")
    sg = ec2.create_security_group(GroupName="web", Description="Managed by Terraform")["GroupId"]
    for port in (443, 22):  # 22: added out of band
        ec2.authorize_security_group_ingress(
            GroupId=sg, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0"
        )
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=tf.TRUST)  # attachment gone
    staging = tf.state(tf.resource("aws_s3_bucket", "logs", tf.instance(tf.bucket("logs-staging"))))
    objects = {
        "app/terraform.tfstate": tf.dumps(app_state(sg)),
        "env:/staging/app/terraform.tfstate": tf.dumps(staging),
        "app/terraform.tfstate.tflock": b'{"ID":"held-by-someone"}',
    }
    s3.create_bucket(Bucket="tfstate")
    for key, body in objects.items():
        s3.put_object(Bucket="tfstate", Key=key, Body=body)
    # A bucket in the dev account: unmanaged, unless dev's declared state is unread.
    dev = aws.client("s3", **aws.account_creds(DEV))
    dev.create_bucket(Bucket="dev-stray")
    return sg, objects


def config(tmp_path: Path, aws: Aws, second: str = "") -> Path:
    path = tmp_path / "driftwatch.toml"
    path.write_text(
        textwrap.dedent(f"""
        [aws]
        regions = ["us-east-1"]
        endpoint_url = "{aws.url}"
        max_attempts = 2
        accounts = [
          {{name = "prod"}},
          {{name = "dev", role_arn = "arn:aws:iam::{DEV}:role/reader"}},
        ]

        [scan]
        types = ["aws_s3_bucket", "aws_security_group", "aws_iam_role"]

        [storage]
        path = "state/driftwatch.db"

        [[terraform]]
        name = "app"
        from = "s3://tfstate/app/terraform.tfstate"
        workspaces = ["*"]
        account = "prod"
        """)
        + textwrap.dedent(second)
    )
    return path


def test_drift_named_by_state_and_address(aws: Aws, tmp_path: Path) -> None:
    sg, objects = seed(aws)
    cfg = config(tmp_path, aws)
    run = scan(cfg)
    assert run.code == 2, run.stdout + run.stderr
    state = "s3://tfstate/app/terraform.tfstate"
    tags = run.drift("aws_s3_bucket", "logs")
    assert tags["kind"] == "modified" and tags["changes"][0]["path"] == "tags.team"
    assert tags["source"] == f"{state}#aws_s3_bucket.logs"
    assert tags["declared_by"] == {
        "state": state,
        "workspace": "default",
        "address": "aws_s3_bucket.logs",
        "serial": 7,
        "file": None,
        "line": None,
    }
    assert run.drift("aws_s3_bucket", "gone")["kind"] == "missing"
    rule = run.drift("aws_security_group", sg)
    assert [c["path"] for c in rule["changes"]] == ['ingress["tcp 22-22 0.0.0.0/0"]']
    assert rule["declared_by"]["address"] == "aws_security_group.web"
    policy = run.drift("aws_iam_role", "app")
    assert [c["path"] for c in policy["changes"]] == ["managed_policy_arns"]
    assert run.drift("aws_lambda_function", "worker")["kind"] == "missing"
    assert run.findings("unmanaged") and {d["id"] for d in run.findings("unmanaged")} >= {
        "dev-stray",
        "tfstate",
    }
    states = {s["workspace"]: s for s in run.doc["scan"]["states"]}
    assert states["staging"]["state"] == "s3://tfstate/env:/staging/app/terraform.tfstate"
    assert states["default"]["serial"] == 7 and states["default"]["lineage"]
    with sqlite3.connect(tmp_path / "state" / "driftwatch.db") as db:  # the scan's own rows
        rows = db.execute(
            "SELECT workspace, serial, lineage, version, resources FROM terraform_states "
            "WHERE scan_id = ? ORDER BY workspace",
            [run.doc["scan"]["id"]],
        ).fetchall()
    assert rows == [
        (w, states[w]["serial"], states[w]["lineage"], 4, states[w]["kept"])
        for w in ("default", "staging")
    ]
    # Read-only: the bucket holds exactly what it held, the lock untouched.
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tfstate")["Contents"]]
    assert sorted(keys) == sorted(objects)
    lock = s3.get_object(Bucket="tfstate", Key="app/terraform.tfstate.tflock")["Body"].read()
    assert lock == objects["app/terraform.tfstate.tflock"]
    table = run_cli("scan", "--config", str(cfg), "--no-store")
    assert f"{state}#aws_security_group.web" in table.stdout
    for text in (run.stdout, run.stderr, table.stdout, table.stderr):
        assert SECRET not in text
    for f in (tmp_path / "state").rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f


def test_an_unreadable_state_makes_the_scan_partial(aws: Aws, tmp_path: Path) -> None:
    seed(aws)
    cfg = config(
        tmp_path,
        aws,
        """
        [[terraform]]
        name = "dev"
        from = "s3://tfstate/dev/terraform.tfstate"
        account = "dev"
        """,
    )
    run = scan(cfg)
    assert run.code == 1, run.stdout + run.stderr
    doc = run.doc
    assert doc["scan"]["status"] == "partial"
    [error] = [e for e in doc["errors"] if e["type"] == "terraform"]
    assert error["account"] == "dev" and "'default' matches no workspace" in error["error"]
    unmanaged = run.findings("unmanaged")
    assert unmanaged and not [d for d in unmanaged if d["account"] == "dev"]
    assert run.drift("aws_s3_bucket", "logs")["kind"] == "modified"  # the rest still compared
    assert json.dumps(doc).count(SECRET) == 0


def test_declared_lists_origin_and_why(aws: Aws, tmp_path: Path) -> None:
    seed(aws)
    run = run_cli("declared", "--config", str(config(tmp_path, aws)), "--format", "json")
    assert run.code == 0, run.stderr
    doc = run.doc
    res = {(r["type"], r["id"]): r for r in doc["resources"]}
    sg = next(r for (t, _), r in res.items() if t == "aws_security_group")
    assert sg["attributes"]["ingress"]["status"] == (
        "from aws_vpc_security_group_ingress_rule.https"
    )
    assert sg["attributes"]["egress"]["status"].startswith("skipped: Optional+Computed")
    role = res[("aws_iam_role", "app")]["attributes"]
    assert role["description"]["status"].startswith("skipped: marked sensitive")
    env = res[("aws_lambda_function", "worker")]["attributes"]["environment"]
    assert env["value"] == {"DB_PASSWORD": "(hidden)"}
    assert {s["workspace"] for s in doc["states"]} == {"default", "staging"}
    assert SECRET not in run.stdout
    table = run_cli("declared", "--config", str(config(tmp_path, aws)), "--source", "nope")
    assert table.code == 1 and "no [[terraform]] source named 'nope'; known: app" in table.stderr


READER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::tfstate"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::tfstate/*"},
    ],
}


def _moto_auth(aws: Aws, free_actions: str) -> None:
    """Turn moto's IAM enforcement on ("0": from the next request) or off ("inf")."""
    req = urllib.request.Request(
        f"{aws.url}/moto-api/reset-auth",
        data=free_actions.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},  # not a form: moto reads the raw body
    )
    urllib.request.urlopen(req, timeout=10).close()


def test_states_read_under_a_get_and_list_only_identity(aws: Aws, tmp_path: Path) -> None:
    # moto enforces IAM policies server-wide once its no-auth action count is spent; it is
    # turned on for this test only, and off again before anything else talks to the server.
    _, objects = seed(aws)
    iam = aws.client("iam")
    iam.create_user(UserName="state-reader")
    iam.put_user_policy(
        UserName="state-reader", PolicyName="read", PolicyDocument=json.dumps(READER_POLICY)
    )
    key = iam.create_access_key(UserName="state-reader")["AccessKey"]
    creds = {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName="tflock",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    held = {"LockID": {"S": "tfstate/app/terraform.tfstate"}, "Info": {"S": "held by someone"}}
    ddb.put_item(TableName="tflock", Item=held)
    reader = aws.client(
        "s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    _moto_auth(aws, "0")
    try:
        with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
            reader.put_object(Bucket="tfstate", Key="probe", Body=b"x")  # enforcement is on
        run = run_cli(
            "declared", "--config", str(config(tmp_path, aws)), "--format", "json", env=creds
        )
    finally:
        _moto_auth(aws, "inf")
    assert run.code == 0, run.stdout + run.stderr
    doc = run.doc
    assert {s["workspace"] for s in doc["states"]} == {"default", "staging"}
    assert {("aws_s3_bucket", "logs"), ("aws_s3_bucket", "logs-staging")} <= {
        (r["type"], r["id"]) for r in doc["resources"]
    }
    s3 = aws.client("s3")
    listed = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket="tfstate")["Contents"]}
    assert sorted(listed) == sorted(objects)
    assert ddb.scan(TableName="tflock")["Items"] == [held]


def test_config_root_makes_inline_rules_count_and_names_file_and_line(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    ec2, s3 = aws.client("ec2"), aws.client("s3")
    sg = ec2.create_security_group(GroupName="web", Description="Managed by Terraform")["GroupId"]
    for port in (443, 22):  # 22: added out of band
        ec2.authorize_security_group_ingress(
            GroupId=sg, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0"
        )
    s3.create_bucket(Bucket="data")
    tagging = [{"Key": "team", "Value": "x"}, {"Key": "CreatedBy", "Value": "ci-run-7"}]
    s3.put_bucket_tagging(Bucket="data", Tagging={"TagSet": tagging})
    https = {
        "cidr_blocks": ["0.0.0.0/0"],
        "description": "",
        "from_port": 443,
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "protocol": "tcp",
        "security_groups": [],
        "self": False,
        "to_port": 443,
    }
    state = tf.state(
        tf.resource(
            "aws_security_group", "web", tf.instance(tf.security_group(sg, "web", "v", [https]))
        ),
        tf.resource("aws_s3_bucket", "data", tf.instance(tf.bucket("data", tags={"team": "x"}))),
    )
    repo.write("infra/terraform.tfstate", tf.dumps(state).decode())
    repo.write(
        "infra/main.tf",
        """
        provider "aws" {
          ignore_tags {
            keys = ["CreatedBy"]
          }
        }

        resource "aws_s3_bucket" "data" {
          bucket = "data"
        }

        resource "aws_security_group" "web" {
          name = "web"
          ingress {
            from_port   = 443
            to_port     = 443
            protocol    = "tcp"
            cidr_blocks = ["0.0.0.0/0"]
          }
        }
        """,
    )
    repo.declare()  # no manifests
    cfg = write_config(
        tmp_path,
        aws.url,
        repo.path,
        extra="""
        [scan]
        types = ["aws_s3_bucket", "aws_security_group"]
        unmanaged = false

        [[terraform]]
        name = "app"
        from = "git:infra/terraform.tfstate"
        config = "git:infra"
        """,
    )
    run = scan(cfg)
    assert run.code == 2, run.stdout + run.stderr
    rule = run.drift("aws_security_group", sg)
    assert [c["path"] for c in rule["changes"]] == ['ingress["tcp 22-22 0.0.0.0/0"]']
    assert (rule["declared_by"]["file"], rule["declared_by"]["line"]) == ("infra/main.tf", 11)
    # The live CreatedBy tag is under the provider's ignore_tags: the bucket is in sync.
    assert not [d for d in run.doc["drifts"] if d["id"] == "data"]
    assert run.doc["summary"]["in_sync"] == 1


def test_sources_in_one_bucket_list_its_workspaces_once(aws: Aws, tmp_path: Path) -> None:
    seed(aws)
    s3 = aws.client("s3")
    other = tf.state(tf.resource("aws_s3_bucket", "o", tf.instance(tf.bucket("other-data"))))
    for key in ("other/terraform.tfstate", "env:/staging/other/terraform.tfstate"):
        body = tf.dumps(other) if key.startswith("other") else tf.dumps(tf.state())
        s3.put_object(Bucket="tfstate", Key=key, Body=body)
    path = config(
        tmp_path,
        aws,
        """
        [[terraform]]
        name = "other"
        from = "s3://tfstate/other/terraform.tfstate"
        workspaces = ["*"]
        """,
    )
    cfg = load_config(path)
    counter = CallCounter()
    got = load_terraform(cfg, ReadContext(cfg, AwsSessions(cfg.aws, counter)), b"k" * 32)
    assert not got.failures and len(got.states) == 4
    # One listing of each state key, one of env:/ for both sources, one GET per workspace.
    assert dict(counter.by_operation) == {"ListObjectsV2": 3, "GetObject": 4}
