"""Severity as data: a built-in table and `[[severity]]` rules → one severity per finding.

`severity_of` is pure. For each change of a modified finding (or the finding itself for
missing and unmanaged) the first matching user rule decides; failing that, the first
matching built-in rule; failing that, the default for its kind. A rule with a path
applies to changes only; one without (path "*") also to whole findings. A finding takes the
highest severity of its changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from driftwatch.config import SEVERITIES, SeverityRule, severity_rank
from driftwatch.models import Change, Finding, Kind

CRITICAL, HIGH, MEDIUM, LOW = "critical", "high", "medium", "low"
DEFAULT = {Kind.MODIFIED: HIGH, Kind.MISSING: HIGH, Kind.UNMANAGED: LOW}

_WORLD = ("0.0.0.0/0", "::/0")


def _opens_to_world(c: Change) -> bool:
    """A rule added (absent in Git) that admits any address."""
    return c.declared is None and any(w in c.path or w in str(c.live) for w in _WORLD)


def _turned_off(c: Change) -> bool:
    return c.declared is True and c.live is not True


def _grants_star(c: Change) -> bool:
    return any(_star_principal(s) for s in _statements(c.live))


def _any_change(c: Change) -> bool:
    return True


@dataclass(frozen=True)
class Builtin:
    """One row of the built-in table: globs over type and change path, a kind, a test."""

    type: str
    path: str
    kind: Kind
    severity: str
    when: Callable[[Change], bool]
    why: str


# The built-in table, most specific first. `path` globs match the change path as the
# report prints it (`ingress["tcp 22-22 0.0.0.0/0"]`, `public_access_block.block_public_acls`).
BUILTINS: tuple[Builtin, ...] = (
    Builtin(
        "aws_security_group",
        "ingress*",
        Kind.MODIFIED,
        CRITICAL,
        _opens_to_world,
        "an ingress rule open to 0.0.0.0/0 or ::/0 was added",
    ),
    Builtin(
        "aws_s3_bucket",
        "public_access_block*",
        Kind.MODIFIED,
        CRITICAL,
        _turned_off,
        "a public access block setting was turned off",
    ),
    Builtin(
        "aws_s3_bucket",
        "policy*",
        Kind.MODIFIED,
        CRITICAL,
        _grants_star,
        "the bucket policy grants access to `*`",
    ),
    Builtin(
        "aws_s3_bucket",
        "server_side_encryption*",
        Kind.MODIFIED,
        CRITICAL,
        _any_change,
        "default encryption was removed or changed",
    ),
    Builtin(
        "aws_kms_key",
        "enable_key_rotation",
        Kind.MODIFIED,
        CRITICAL,
        _turned_off,
        "key rotation was turned off",
    ),
    Builtin(
        "aws_iam_role",
        "assume_role_policy*",
        Kind.MODIFIED,
        CRITICAL,
        _any_change,
        "the trust policy changed",
    ),
    Builtin(
        "aws_iam_role",
        "inline_policies*",
        Kind.MODIFIED,
        CRITICAL,
        _any_change,
        "an inline policy document changed",
    ),
    Builtin(
        "aws_iam_role",
        "managed_policy_arns*",
        Kind.MODIFIED,
        CRITICAL,
        _any_change,
        "attached policies changed",
    ),
    Builtin(
        "aws_iam_policy",
        "policy*",
        Kind.MODIFIED,
        CRITICAL,
        _any_change,
        "the policy document changed",
    ),
    Builtin(
        "aws_iam_user",
        "managed_policy_arns*",
        Kind.MODIFIED,
        CRITICAL,
        _any_change,
        "attached policies changed",
    ),
    Builtin(
        "aws_iam_user",
        "*",
        Kind.UNMANAGED,
        CRITICAL,
        _any_change,
        "an IAM user exists that Git does not declare",
    ),
    Builtin(
        "aws_iam_policy",
        "*",
        Kind.UNMANAGED,
        CRITICAL,
        _any_change,
        "an access-granting policy exists that Git does not declare",
    ),
)


def severity_of(f: Finding, rules: Sequence[SeverityRule] = ()) -> str:
    """The severity of a drift finding (modified, missing or unmanaged)."""
    if f.kind == Kind.MODIFIED and f.changes:
        return max((_of_change(f, c, rules) for c in f.changes), key=severity_rank)
    return _of_change(f, None, rules)


def _of_change(f: Finding, c: Change | None, rules: Sequence[SeverityRule]) -> str:
    path = c.path if c is not None else ""
    for rule in rules:
        if (
            (rule.kind is None or rule.kind == f.kind)
            and fnmatchcase(f.type, rule.type)
            and (fnmatchcase(path, rule.path) if c is not None else rule.path == "*")
        ):
            return rule.severity
    for b in BUILTINS:
        if (
            b.kind == f.kind
            and fnmatchcase(f.type, b.type)
            and fnmatchcase(path or "*", b.path)
            and (c is None or b.when(c))
        ):
            return b.severity
    return DEFAULT.get(f.kind, HIGH)


def assign(findings: Sequence[Finding], rules: Sequence[SeverityRule]) -> None:
    """Set `severity` on every drift finding of a scan."""
    for f in findings:
        if f.kind.is_drift:
            f.severity = severity_of(f, rules)


def at_least(severity: str, minimum: str) -> bool:
    return severity_rank(severity) >= severity_rank(minimum)


def _statements(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict):
        stmts = doc.get("Statement", [doc] if "Effect" in doc else [])
        return [s for s in (stmts if isinstance(stmts, list) else [stmts]) if isinstance(s, dict)]
    if isinstance(doc, list):
        return [s for s in doc if isinstance(s, dict)]
    return []


def _star_principal(stmt: dict[str, Any]) -> bool:
    if stmt.get("Effect") != "Allow":
        return False
    p = stmt.get("Principal")
    if p == "*":
        return True
    if isinstance(p, dict):
        aws = p.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


__all__ = ["BUILTINS", "CRITICAL", "HIGH", "LOW", "MEDIUM", "SEVERITIES", "assign", "severity_of"]
