"""Accepting an unmanaged resource of every type declares it so that it compares in sync."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import (
    seed,
    seed_dynamodb,
    seed_iam,
    seed_kms,
    seed_lambda,
    seed_logs,
    seed_rds,
    seed_sns,
    seed_sqs,
)
from support.env import Aws, write_config

from driftwatch.config import load_config
from driftwatch.declared.manifests import parse_manifests
from driftwatch.diff import diff_resource
from driftwatch.models import GLOBAL_REGION, Kind, Scope
from driftwatch.registry import collectors
from driftwatch.remediation.accept import live_attributes, plan_new_manifest

SEEDS: dict[str, tuple[str, Callable[[Aws], Any]]] = {
    "aws_s3_bucket": ("acc-bucket", lambda aws: seed.bucket(aws, "acc-bucket")),
    "aws_security_group": ("acc-sg", lambda aws: seed.security_group(aws, "acc-sg")),
    "aws_iam_role": ("acc-role", lambda aws: seed.role(aws, "acc-role")),
    "aws_instance": ("acc-vm", lambda aws: seed.instance(aws, "acc-vm")),
    "aws_dynamodb_table": ("acc-table", lambda aws: seed_dynamodb.table(aws, "acc-table")),
    "aws_iam_policy": ("acc-policy", lambda aws: seed_iam.policy(aws, "acc-policy")),
    "aws_iam_user": ("acc-user", lambda aws: seed_iam.user(aws, "acc-user")),
    "aws_kms_key": ("alias/acc-key", lambda aws: seed_kms.key(aws, "alias/acc-key")),
    "aws_lambda_function": ("acc-fn", lambda aws: seed_lambda.function(aws, "acc-fn")),
    "aws_cloudwatch_log_group": ("/acc/logs", lambda aws: seed_logs.log_group(aws, "/acc/logs")),
    "aws_db_instance": ("acc-db", lambda aws: seed_rds.instance(aws, "acc-db")),
    "aws_sns_topic": ("acc-topic", lambda aws: seed_sns.topic(aws, "acc-topic")),
    "aws_sqs_queue": ("acc-queue", lambda aws: seed_sqs.queue(aws, "acc-queue")),
}


def test_every_type_is_covered() -> None:
    assert set(SEEDS) == set(collectors.names())


@pytest.mark.parametrize("rtype", sorted(SEEDS))
def test_a_new_manifest_of_any_type_is_in_sync(aws: Aws, tmp_path: Path, rtype: str) -> None:
    name, make = SEEDS[rtype]
    make(aws)
    collector = collectors.get(rtype)()
    region = GLOBAL_REGION if collector.is_global else "us-east-1"
    client = aws.client(collector.service, "us-east-1")
    (live,) = [
        lv
        for lv in collector.list_resources(client, Scope("default", region, rtype))
        if lv.answers_to(name)
    ]
    attrs = live_attributes(collector, client, live)
    plan = plan_new_manifest(rtype, live.id, "default", region, attrs, folder="declared")
    cfg = load_config(write_config(tmp_path, aws.url, tmp_path))
    (declared,) = parse_manifests([(plan.path, (plan.new_text or "").encode())], cfg)
    assert set(declared.spec) == set(plan.written)
    # Only secrets are left out: every other live value found its manifest shape.
    assert all(collector.attributes[x.path].kind.secret for x in plan.left_out), plan.left_out
    for source in collector.sources_for(list(declared.spec)):
        live.attrs.update(collector.read(source, client, live))
    finding = diff_resource(collector, declared, live, [], dt.date.today(), secret_key=bytes(32))
    assert finding.kind == Kind.IN_SYNC, (plan.new_text, finding.changes)
