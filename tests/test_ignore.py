"""[[ignore]] rules as a scan applies them: pure functions, no AWS, no SQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from driftwatch.config import IgnoreRule, parse_config
from driftwatch.errors import ConfigError
from driftwatch.ignore import check_rule_types, type_problem

KNOWN = ("aws_iam_role", "aws_instance", "aws_s3_bucket", "aws_security_group")


@pytest.mark.parametrize("pattern", ["*", "aws_s3_bucket", "aws_s3_*", "aws_[is]*", "aws_?nstance"])
def test_types_that_name_a_known_type(pattern: str) -> None:
    assert type_problem(pattern, KNOWN) is None


@pytest.mark.parametrize(
    "pattern,message",
    [
        ("aws_s3_buckets", "unknown resource type 'aws_s3_buckets'; known: aws_iam_role, "),
        ("aws_s3", "unknown resource type 'aws_s3'"),
        ("aws_s4_*", "'aws_s4_*' matches no resource type; known: aws_iam_role, "),
        ("AWS_S3_*", "'AWS_S3_*' matches no resource type"),  # case-sensitive, like types
    ],
)
def test_types_that_name_nothing(pattern: str, message: str) -> None:
    problem = type_problem(pattern, KNOWN)
    assert problem is not None and problem.startswith(message)
    assert problem.endswith("aws_s3_bucket, aws_security_group")


def test_check_names_the_rule_key() -> None:
    raw = {
        "git": {"url": "https://example.com/infra.git"},
        "ignore": [
            {"path": "tags.x", "type": "aws_*"},
            {"kind": "unmanaged", "type": "aws_s3_buckets", "id": "tmp-*"},
        ],
    }
    cfg = parse_config(raw, Path("driftwatch.toml"))
    with pytest.raises(ConfigError) as err:
        check_rule_types(cfg, KNOWN)
    assert err.value.key == "ignore[1].type"
    assert "unknown resource type 'aws_s3_buckets'" in err.value.message
    check_rule_types(dataclasses.replace(cfg, ignore=cfg.ignore[:1]), KNOWN)  # no error


def test_default_type_matches_every_type() -> None:
    assert type_problem(IgnoreRule(path="tags").type, KNOWN) is None
