"""aws_s3_bucket collector, in-process with moto's mock_aws: defaults and per-region listing."""

from __future__ import annotations

import boto3
import pytest

from driftwatch.collectors.s3 import S3Bucket
from driftwatch.models import Scope


@pytest.fixture
def s3(mock_aws_env: None):
    yield boto3.client("s3", region_name="us-east-1")


def test_lists_only_the_scope_region(s3) -> None:
    s3.create_bucket(Bucket="east")
    s3.create_bucket(Bucket="west", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    got = S3Bucket().list_resources(s3, Scope("a", "us-east-1", "aws_s3_bucket"))
    assert [b.id for b in got] == ["east"]


def test_unconfigured_bucket_reads_as_defaults(s3) -> None:
    s3.create_bucket(Bucket="bare")
    c = S3Bucket()
    [live] = c.list_resources(s3, Scope("a", "us-east-1", "aws_s3_bucket"))
    attrs = {}
    for source in c.sources_for(list(c.attributes)):
        attrs.update(c.read(source, s3, live))
    assert attrs == {
        "versioning": "Disabled",
        "server_side_encryption": None,
        "policy": None,
        "tags": {},
        "public_access_block": {
            "block_public_acls": False,
            "block_public_policy": False,
            "ignore_public_acls": False,
            "restrict_public_buckets": False,
        },
    }


def test_each_attribute_has_one_source() -> None:
    c = S3Bucket()
    assert c.sources_for(["tags"]) == ["tags"]
    assert c.sources_for(["versioning", "tags"]) == ["tags", "versioning"]
    assert c.sources_for([]) == []
