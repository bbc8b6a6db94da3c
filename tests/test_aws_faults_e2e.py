"""Faults from AWS, end to end: every resource type behind a fault-injecting proxy.

A storm of throttling at random changes nothing but the time; a fault concentrated on
one service leaves that service's scopes not checked and every drift record as it was
(nothing opened as missing, nothing resolved). A real rate limit is converged to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
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
from support.env import Aws, ManifestRepo, write_config
from support.faultproxy import Fault, FaultProxy, RateLimit

from driftwatch.config import load_config
from driftwatch.registry import collectors
from driftwatch.scan import ScanResult, run_scan
from driftwatch.store import Store

Seeder = Callable[[Aws, str], Any]
# Every type, its seeder (returning ..., declared spec, drifted spec) and the id to declare.
ESTATE: dict[str, tuple[Seeder, str]] = {
    "aws_s3_bucket": (seed.bucket, "f-bucket"),
    "aws_security_group": (seed.security_group, "f-group"),
    "aws_instance": (seed.instance, "f-instance"),
    "aws_iam_role": (seed.role, "f-role"),
    "aws_iam_policy": (seed_iam.policy, "f-policy"),
    "aws_iam_user": (seed_iam.user, "f-user"),
    "aws_lambda_function": (seed_lambda.function, "f-function"),
    "aws_dynamodb_table": (seed_dynamodb.table, "f-table"),
    "aws_sqs_queue": (seed_sqs.queue, "f-queue"),
    "aws_sns_topic": (seed_sns.topic, "f-topic"),
    "aws_db_instance": (seed_rds.instance, "f-db"),
    "aws_kms_key": (seed_kms.key, "alias/f-key"),
    "aws_cloudwatch_log_group": (seed_logs.log_group, "f-logs"),
}
SLOW_READ_TIMEOUT = 2  # seconds; a `slow` fault answers after 2.5
# A fault kind per service, so that every kind and every type is faulted; `bench/fault_bench.py
# --matrix` runs every kind against every service, one at a time.
CONCENTRATED = {
    "s3": Fault("throttle", code="SlowDown"),
    "ec2": Fault("throttle", code="RequestLimitExceeded"),
    "iam": Fault("deny"),
    "lambda": Fault("throttle", code="ThrottlingException"),
    "dynamodb": Fault("truncate"),  # a cut JSON body once read as an empty listing
    "sqs": Fault("error", status=503),
    "sns": Fault("reset"),
    "rds": Fault("error", status=500),
    "kms": Fault("drop"),
    "logs": Fault("slow", delay=2.5),
}


@pytest.fixture
def proxy(aws: Aws):
    p = FaultProxy(aws.url).start()
    yield p
    p.stop()


def declare_estate(aws: Aws, repo: ManifestRepo) -> None:
    """One drifted resource of each type (an open `modified` record after a first scan)
    and one declared but absent (an open `missing` record)."""
    resources = []
    for rtype, (seeder, rid) in ESTATE.items():
        *_, drifted = seeder(aws, rid)
        resources.append({"type": rtype, "id": rid, "spec": drifted})
        gone = "alias/f-gone" if rtype == "aws_kms_key" else "f-gone"
        resources.append({"type": rtype, "id": gone, "spec": {}})
    repo.declare(*resources)


def config(tmp_path: Path, endpoint: str, repo: ManifestRepo, max_attempts: int) -> Path:
    cfg = write_config(tmp_path, endpoint, repo.path)
    text = cfg.read_text().replace("max_attempts = 2", f"max_attempts = {max_attempts}")
    cfg.write_text(text.replace("read_timeout = 10", f"read_timeout = {SLOW_READ_TIMEOUT}"))
    return cfg


def scan_in_process(cfg: Path, store: Store | None) -> tuple[ScanResult, float]:
    t0 = time.monotonic()
    result = run_scan(load_config(cfg), store)
    return result, time.monotonic() - t0


def verdicts(result: ScanResult) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {
        (f.kind, f.type, f.id, tuple(sorted(c.path for c in f.changes))) for f in result.findings
    }


def records(store: Store) -> list[tuple[str, str, str]]:
    return sorted((d["fingerprint"], d["status"], d["kind"]) for d in store.drifts())


def test_a_storm_changes_only_the_time_and_a_failed_scope_changes_no_record(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy
) -> None:
    """One estate (seeding it is most of the cost) for both halves:

    with 30% of calls throttled the scan finds what a clean scan finds; with a fault
    concentrated on a service, that service is not checked and no record moves.
    """
    declare_estate(aws, repo)
    store = Store(tmp_path / "state" / "driftwatch.db")
    cfg = config(tmp_path, proxy.url, repo, max_attempts=2)  # failing scopes give up fast
    first, clean_s = scan_in_process(cfg, store)
    assert first.status == "ok" and len(first.findings) > 26
    kinds = {(f.type, f.kind) for f in first.findings}
    assert all({(t, "modified"), (t, "missing")} <= kinds for t in ESTATE), kinds

    (tmp_path / "storm").mkdir()
    storm_cfg = config(tmp_path / "storm", proxy.url, repo, max_attempts=10)
    storm = Fault("throttle", rate=0.3)  # each service's own throttling code
    proxy.faults.append(storm)
    stormy, stormy_s = scan_in_process(storm_cfg, None)
    assert storm.hits >= 10
    assert not stormy.errors, [e.error for e in stormy.errors]
    assert verdicts(stormy) == verdicts(first)
    # botocore's adaptive limiter sank to 0.5 calls a second per client here.
    assert stormy_s < 3 * clean_s + 3, (stormy_s, clean_s)

    before = records(store)
    events = len(store.events())
    faulted_types: set[str] = set()
    services = list(CONCENTRATED)
    for group in (services[::2], services[1::2]):  # half the services faulted, half clean
        faults = [replace(CONCENTRATED[s], service=s) for s in group]
        proxy.faults[:] = faults
        result, _ = scan_in_process(cfg, store)
        types = {t for t in ESTATE if collectors.get(t).service in group}
        faulted_types |= types
        assert all(f.hits > 0 for f in faults), faults
        assert result.status == "partial", group
        unchecked = {(f.type, f.id) for f in result.findings if f.kind == "not_checked"}
        assert {t for t, _ in unchecked} == types, (group, unchecked)
        assert len(unchecked) == 2 * len(types)  # the drifted one and the absent one
        assert {e.scope.type for e in result.errors} == types
        drifts = ("modified", "missing")
        checked = {(f.type, f.kind) for f in result.findings if f.kind in drifts}
        assert checked == {(t, k) for t in set(ESTATE) - types for k in drifts}
        assert records(store) == before, group
        assert len(store.events()) == events, group
    assert faulted_types == set(ESTATE)
    proxy.faults.clear()
    again, _ = scan_in_process(cfg, store)
    assert again.status == "ok" and records(store) == before


def test_a_rate_limit_is_converged_to(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy
) -> None:
    """S3 allows 20 calls a second (burst 5): the scan settles near it and finds the same."""
    s3 = aws.client("s3")
    names = [f"rl-{i:02d}" for i in range(50)]
    for name in names:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "n", "Value": name}]})
    spec = {"versioning": "Disabled", "policy": None}  # three detail reads a bucket
    repo.declare(
        *(
            {"type": "aws_s3_bucket", "id": n, "spec": {**spec, "tags": {"n": n.upper()}}}
            for n in names
        )
    )
    cfg = config(tmp_path, proxy.url, repo, max_attempts=10)
    clean, _ = scan_in_process(cfg, None)
    proxy.calls.clear()
    limit = RateLimit(20.0, burst=5.0, service="s3")
    proxy.limits.append(limit)
    limited, _ = scan_in_process(cfg, None)
    assert limit.throttled > 0
    assert not limited.errors and verdicts(limited) == verdicts(clean)
    calls = [c for c in proxy.calls if c.service == "s3"]
    assert len(calls) > 150
    late = calls[len(calls) // 2 :]  # once the limiter has had a few windows
    accepted = [c for c in late if c.outcome == "ok"]
    throttled_share = 1 - len(accepted) / len(late)
    rate = (len(accepted) - 1) / (accepted[-1].at - accepted[0].at)
    assert throttled_share < 0.35, throttled_share
    assert 20 * 0.5 < rate <= 20 * 1.1, rate
