"""[[ignore]] rules as a scan applies them: pure functions, no AWS, no SQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from driftwatch.config import IgnoreRule, parse_config
from driftwatch.errors import ConfigError
from driftwatch.ignore import apply_rules, check_rule_types, type_problem
from driftwatch.models import Finding, Hidden, Kind

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


TODAY = dt.date(2026, 11, 27)
S3, EC2 = "aws_s3_bucket", "aws_instance"


def found(kind: Kind, rtype: str, rid: str, *hidden: Hidden) -> Finding:
    return Finding(kind, rtype, rid, "prod", "us-east-1", hidden=list(hidden))


def rule(index: int, kind: Kind, rtype: str, rid: str = "*", **kw: Any) -> IgnoreRule:
    return IgnoreRule(type=rtype, id=rid, kind=kind, index=index, **kw)


def test_whole_finding_rules_hide_their_kind_by_type_and_id() -> None:
    rules = [
        rule(0, Kind.UNMANAGED, S3, "tmp-*"),
        rule(1, Kind.MISSING, "aws_*", "spot-*"),
        IgnoreRule(path="tags", index=2),
    ]
    findings = [
        found(Kind.UNMANAGED, S3, "tmp-a"),
        found(Kind.UNMANAGED, S3, "logs"),  # id does not match
        found(Kind.UNMANAGED, EC2, "tmp-b"),  # type does not match
        found(Kind.MISSING, S3, "tmp-c"),  # kind does not match
        found(Kind.MISSING, EC2, "spot-1"),
        found(Kind.NOT_CHECKED, EC2, "spot-2"),  # not checked is never hidden
        found(Kind.MODIFIED, EC2, "tags-only"),  # a path rule never hides a whole finding
    ]
    kept, hidden = apply_rules(findings, rules, TODAY)
    assert [f.id for f in kept] == ["logs", "tmp-b", "tmp-c", "spot-2", "tags-only"]
    assert [(h.rule, h.kind, h.id, h.path) for h in hidden] == [
        (0, Kind.UNMANAGED, "tmp-a", None),
        (1, Kind.MISSING, "spot-1", None),
    ]


def test_every_rule_that_covers_a_finding_is_credited() -> None:
    rules = [rule(0, Kind.UNMANAGED, S3, "tmp-*"), rule(1, Kind.UNMANAGED, "*", "tmp-a")]
    kept, hidden = apply_rules([found(Kind.UNMANAGED, S3, "tmp-a")], rules, TODAY)
    assert kept == [] and [h.rule for h in hidden] == [0, 1]


def test_expired_whole_finding_rules_hide_nothing() -> None:
    old = rule(0, Kind.UNMANAGED, S3, expires=dt.date(2026, 11, 26))
    last_day = rule(1, Kind.MISSING, S3, expires=TODAY)
    findings = [found(Kind.UNMANAGED, S3, "a"), found(Kind.MISSING, S3, "b")]
    kept, hidden = apply_rules(findings, [old, last_day], TODAY)
    assert [f.id for f in kept] == ["a"] and [h.rule for h in hidden] == [1]


def test_the_paths_diff_hid_are_listed_with_the_findings_kept() -> None:
    path_hit = Hidden(3, Kind.MODIFIED, EC2, "web", "prod", "us-east-1", "tags.LastPatched")
    kept, hidden = apply_rules([found(Kind.IN_SYNC, EC2, "web", path_hit)], [], TODAY)
    assert [f.id for f in kept] == ["web"] and hidden == [path_hit]
