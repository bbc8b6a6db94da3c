"""[[ignore]] rules as a scan applies them: pure functions, no AWS, no SQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from driftwatch.config import IgnoreRule, parse_config
from driftwatch.errors import ConfigError
from driftwatch.ignore import apply_rules, check_rule_types, type_problem, unused_rules
from driftwatch.lifecycle import Coverage
from driftwatch.models import DeclaredResource, Finding, Hidden, Kind, Scope

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


S3_SCOPE = Scope("prod", "us-east-1", S3)
EC2_SCOPE = Scope("prod", "us-east-1", EC2)


def declared(rtype: str, rid: str, **spec: Any) -> DeclaredResource:
    return DeclaredResource(rtype, rid, "prod", "us-east-1", spec, "m.yaml")


DECLARED = [declared(S3, "logs", versioning="Enabled", tags={"a": "b"}), declared(EC2, "web-1")]


def unused(*rules: IgnoreRule, hidden: Sequence[Hidden] = (), **cov: Any) -> list[int]:
    coverage = Coverage(
        **{"read": frozenset({S3_SCOPE, EC2_SCOPE}), "watched": frozenset({S3_SCOPE}), **cov}
    )
    return [r.index for r in unused_rules(rules, TODAY, DECLARED, coverage, hidden)]


def test_a_path_rule_is_used_when_a_checked_resource_declares_its_attribute() -> None:
    # In sync this time, so it hid nothing; but it names something real: not a typo.
    assert unused(IgnoreRule(path="tags.team", type=S3, index=0)) == []
    assert unused(IgnoreRule(path="ver*", index=0)) == []


@pytest.mark.parametrize(
    "typo",
    [
        IgnoreRule(path="tags.team", type=S3, id="log", index=4),  # the id matches nothing
        IgnoreRule(path="tag.team", type=S3, index=4),  # no resource declares `tag`
        IgnoreRule(path="versioning", type=EC2, index=4),  # not on this type
        IgnoreRule(path="tags", type="aws_iam_role", index=4),  # nothing of the type declared
    ],
)
def test_a_path_rule_that_names_nothing_declared_is_unused(typo: IgnoreRule) -> None:
    assert unused(typo) == [4]


def test_nothing_is_unused_when_what_it_could_match_was_not_checked() -> None:
    rules = (
        IgnoreRule(path="tag.team", type=S3, id="logs", index=0),
        rule(1, Kind.MISSING, S3, "logs-*"),
    )
    unchecked = frozenset({("prod", "us-east-1", S3, "logs-old")})
    assert unused(*rules) == [0, 1]
    assert unused(*rules, unchecked=frozenset({DECLARED[0].key}) | unchecked) == []


def test_a_missing_rule_is_used_when_it_matches_a_checked_declared_resource() -> None:
    assert unused(rule(0, Kind.MISSING, S3, "log*"), rule(1, Kind.MISSING, S3, "tmp-*")) == [1]


def test_an_unmanaged_rule_is_used_only_when_it_hid_something() -> None:
    rules = (rule(0, Kind.UNMANAGED, S3, "tmp-*"), rule(1, Kind.UNMANAGED, "aws_s3_*", "x-*"))
    hit = Hidden(0, Kind.UNMANAGED, S3, "tmp-a", "prod", "us-east-1")
    assert unused(*rules, hidden=[hit]) == [1]


def test_an_unmanaged_rule_is_not_judged_where_unmanaged_were_not_all_read() -> None:
    tmp = rule(0, Kind.UNMANAGED, S3, "tmp-*")
    assert unused(tmp) == [0]
    assert unused(tmp, read=frozenset({EC2_SCOPE}), failed=frozenset({S3_SCOPE})) == []
    assert unused(rule(0, Kind.UNMANAGED, EC2, "tmp-*")) == []  # instances are not watched
    assert unused(tmp, watched=frozenset()) == []  # scan.unmanaged = false


def test_expired_rules_are_reported_as_expired_not_unused() -> None:
    assert unused(IgnoreRule(path="nope", index=0, expires=dt.date(2026, 1, 1))) == []


def test_the_example_config_rules_name_known_types() -> None:
    import driftwatch.collectors  # noqa: F401  (registers the built-in collectors)
    from driftwatch.config import load_config
    from driftwatch.registry import collectors

    cfg = load_config(Path(__file__).parent.parent / "config.example.toml")
    assert {r.kind for r in cfg.ignore} == {Kind.MODIFIED, Kind.UNMANAGED}
    check_rule_types(cfg, collectors.names())
