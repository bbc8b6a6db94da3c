"""The raw boto3 floor: the fewest calls that read the attributes the manifests declare."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from driftwatch.config import AwsConfig

BUCKET_READS = ("get_bucket_versioning", "get_bucket_tagging")


@dataclass
class FloorRun:
    """One floor measurement: wall time, API calls and what was read."""

    wall_s: float
    cpu_s: float
    api_calls: int
    bucket_reads: int
    groups: int


class CallCount:
    """A botocore `before-call` handler that counts requests, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0

    def __call__(self, **_: Any) -> None:
        with self._lock:
            self.total += 1


def boto_config(aws: AwsConfig) -> BotoConfig:
    """The client Config driftwatch builds for these settings (driftwatch/aws.py)."""
    return BotoConfig(
        retries={"mode": "adaptive", "max_attempts": aws.max_attempts},
        max_pool_connections=aws.max_concurrency + 2,
        connect_timeout=aws.connect_timeout,
        read_timeout=aws.read_timeout,
        s3={"addressing_style": "path"} if aws.endpoint_url else None,
    )


def run_floor(aws: AwsConfig, region: str, declared_buckets: set[str]) -> FloorRun:
    """List buckets and groups once, read versioning and tags of each declared bucket."""
    t0, c0 = time.perf_counter(), time.process_time()
    count = CallCount()
    s3, ec2 = (_client(aws, region, service, count) for service in ("s3", "ec2"))
    with ThreadPoolExecutor(aws.max_concurrency, thread_name_prefix="floor") as pool:
        groups = pool.submit(_list_groups, ec2)
        listed = pool.submit(s3.list_buckets, BucketRegion=region).result()["Buckets"]
        names = [b["Name"] for b in listed if b["Name"] in declared_buckets]
        reads = [pool.submit(_read, s3, op, name) for name in names for op in BUCKET_READS]
        bucket_reads = sum(1 for f in reads if f.result() is not None)
        ngroups = len(groups.result())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return FloorRun(wall, cpu, count.total, bucket_reads, ngroups)


def _client(aws: AwsConfig, region: str, service: str, count: CallCount) -> Any:
    client = boto3.Session().client(
        service, region_name=region, endpoint_url=aws.endpoint_url, config=boto_config(aws)
    )
    client.meta.events.register("before-call", count)
    return client


def _list_groups(ec2: Any) -> list[dict[str, Any]]:
    pages = ec2.get_paginator("describe_security_groups").paginate()
    return [g for page in pages for g in page["SecurityGroups"]]


def _read(s3: Any, operation: str, bucket: str) -> dict[str, Any]:
    result: dict[str, Any] = getattr(s3, operation)(Bucket=bucket)
    return result
