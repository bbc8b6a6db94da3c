"""Severity, case by case: the built-in table, user rules overriding it, the defaults."""

from __future__ import annotations

import pytest

from driftwatch.config import SeverityRule
from driftwatch.models import Change, Finding, Kind
from driftwatch.severity import BUILTINS, severity_of


def modified(rtype: str, *changes: Change) -> Finding:
    return Finding(Kind.MODIFIED, rtype, "r1", "prod", "us-east-1", changes=list(changes))


WORLD_22 = 'ingress["tcp 22-22 0.0.0.0/0"]'
RULE = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}
STAR = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}
ONE = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}}]}

CASES = [
    (
        "sg rule open to the world added",
        modified("aws_security_group", Change(WORLD_22, None, RULE)),
        "critical",
    ),
    (
        "sg ::/0 added",
        modified("aws_security_group", Change('ingress["tcp 443-443 ::/0"]', None, {"x": 1})),
        "critical",
    ),
    (
        "sg world rule removed is not critical",
        modified("aws_security_group", Change(WORLD_22, RULE, None)),
        "high",
    ),
    (
        "sg private rule added",
        modified("aws_security_group", Change('ingress["tcp 22-22 10.0.0.0/8"]', None, {})),
        "high",
    ),
    (
        "public access block off",
        modified("aws_s3_bucket", Change("public_access_block.block_public_acls", True, False)),
        "critical",
    ),
    (
        "public access block on",
        modified("aws_s3_bucket", Change("public_access_block.block_public_acls", False, True)),
        "high",
    ),
    ("bucket policy grants *", modified("aws_s3_bucket", Change("policy", ONE, STAR)), "critical"),
    (
        "bucket policy to one account",
        modified("aws_s3_bucket", Change("policy", STAR, ONE)),
        "high",
    ),
    (
        "encryption removed",
        modified(
            "aws_s3_bucket", Change("server_side_encryption", {"sse_algorithm": "aws:kms"}, None)
        ),
        "critical",
    ),
    (
        "kms rotation off",
        modified("aws_kms_key", Change("enable_key_rotation", True, False)),
        "critical",
    ),
    ("kms description", modified("aws_kms_key", Change("description", "a", "b")), "high"),
    (
        "trust policy changed",
        modified("aws_iam_role", Change("assume_role_policy", ONE, STAR)),
        "critical",
    ),
    ("iam policy document", modified("aws_iam_policy", Change("policy", ONE, STAR)), "critical"),
    ("tags only", modified("aws_iam_role", Change("tags.team", "a", "b")), "high"),
    (
        "highest change wins",
        modified(
            "aws_kms_key",
            Change("description", "a", "b"),
            Change("enable_key_rotation", True, False),
        ),
        "critical",
    ),
    ("missing", Finding(Kind.MISSING, "aws_sqs_queue", "q", "prod", "us-east-1"), "high"),
    ("unmanaged", Finding(Kind.UNMANAGED, "aws_sqs_queue", "q", "prod", "us-east-1"), "low"),
    (
        "unmanaged iam user",
        Finding(Kind.UNMANAGED, "aws_iam_user", "eve", "prod", "global"),
        "critical",
    ),
    (
        "unmanaged iam policy",
        Finding(Kind.UNMANAGED, "aws_iam_policy", "p", "prod", "global"),
        "critical",
    ),
]


@pytest.mark.parametrize("name,finding,expected", CASES, ids=[c[0] for c in CASES])
def test_builtin_severity(name: str, finding: Finding, expected: str) -> None:
    assert severity_of(finding) == expected


def test_user_rules_override_builtins_first_match_wins() -> None:
    rules = [
        SeverityRule("low", type="aws_security_group", path="ingress*"),
        SeverityRule("medium", type="aws_*"),
    ]
    assert severity_of(modified("aws_security_group", Change(WORLD_22, None, RULE)), rules) == "low"
    assert (
        severity_of(modified("aws_kms_key", Change("enable_key_rotation", True, False)), rules)
        == "medium"
    )


def test_user_rule_by_kind_and_path() -> None:
    rules = [
        SeverityRule("critical", kind=Kind.UNMANAGED, type="aws_s3_bucket"),
        SeverityRule("low", path="tags.*"),
    ]
    bucket = Finding(Kind.UNMANAGED, "aws_s3_bucket", "b", "prod", "us-east-1")
    assert severity_of(bucket, rules) == "critical"
    queue = Finding(Kind.UNMANAGED, "aws_sqs_queue", "q", "prod", "us-east-1")
    assert severity_of(queue, rules) == "low"  # the default: a path rule is for changes only
    rules.append(SeverityRule("medium", kind=Kind.UNMANAGED))
    assert severity_of(queue, rules) == "medium"
    tags = modified("aws_sqs_queue", Change("tags.a", "1", "2"), Change("tags.b", "1", "2"))
    assert severity_of(tags, rules) == "low"
    mixed = modified("aws_sqs_queue", Change("tags.a", "1", "2"), Change("delay_seconds", 0, 5))
    assert severity_of(mixed, rules) == "high"  # the untouched change keeps its default


def test_builtin_table_is_readable() -> None:
    for b in BUILTINS:
        assert b.why and b.type.startswith("aws_") and b.severity in ("critical", "high")
