"""[[ignore]] rules as a scan applies them: type checks, whole findings, what each rule hid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from fnmatch import fnmatchcase

from driftwatch.config import Config, IgnoreRule
from driftwatch.errors import ConfigError
from driftwatch.lifecycle import Coverage
from driftwatch.models import DeclaredResource, Finding, Hidden, Kind
from driftwatch.paths import split_path

_GLOB_CHARS = frozenset("*?[")


def type_problem(pattern: str, known: Sequence[str]) -> str | None:
    """Why a rule's `type` names no known resource type; None when it names one or more."""
    names = ", ".join(known)
    if not _GLOB_CHARS & set(pattern):
        return None if pattern in known else f"unknown resource type {pattern!r}; known: {names}"
    if any(fnmatchcase(rtype, pattern) for rtype in known):
        return None
    return f"{pattern!r} matches no resource type; known: {names}"


def check_rule_types(cfg: Config, known: Sequence[str]) -> None:
    """A rule whose `type` matches no known resource type is a config error (usually a typo)."""
    for rule in cfg.ignore:
        problem = type_problem(rule.type, known)
        if problem:
            raise ConfigError(str(cfg.source), f"ignore[{rule.index}].type", problem)


def apply_rules(
    findings: Sequence[Finding], rules: Sequence[IgnoreRule], today: dt.date
) -> tuple[list[Finding], list[Hidden]]:
    """The findings left once unexpired unmanaged/missing rules have removed what they cover,
    and every hit of this scan: those findings, and the change paths diff already hid."""
    active = [r for r in rules if r.kind != Kind.MODIFIED and not r.expired(today)]
    kept: list[Finding] = []
    hidden: list[Hidden] = []
    for f in findings:
        hits = [_whole(r, f) for r in active if r.hides(f.kind, f.type, f.id)]
        if not hits:
            kept.append(f)
        hidden += hits + f.hidden
    return kept, hidden


def _whole(rule: IgnoreRule, f: Finding) -> Hidden:
    return Hidden(rule.index, f.kind, f.type, f.id, f.account, f.region)


ACTIVE, UNUSED, EXPIRED = "active", "unused", "expired"


def rule_statuses(
    rules: Sequence[IgnoreRule], today: dt.date, unused: Sequence[IgnoreRule]
) -> list[tuple[IgnoreRule, str]]:
    """Each rule with its status in this scan: expired, unused or active."""
    return [(r, EXPIRED if r.expired(today) else UNUSED if r in unused else ACTIVE) for r in rules]


def unused_rules(
    rules: Sequence[IgnoreRule],
    today: dt.date,
    declared: Sequence[DeclaredResource],
    cov: Coverage,
    hidden: Sequence[Hidden],
) -> list[IgnoreRule]:
    """Unexpired rules that matched nothing this scan checked, where nothing they could
    match went unchecked: usually a typo (docs/configuration.md#unused-rules)."""
    hit = {h.rule for h in hidden}
    by_type: dict[str, list[DeclaredResource]] = {}
    for d in declared:
        by_type.setdefault(d.type, []).append(d)
    return [
        r
        for r in rules
        if not r.expired(today) and r.index not in hit and _matched_nothing(r, by_type, cov)
    ]


def _matched_nothing(
    rule: IgnoreRule, by_type: dict[str, list[DeclaredResource]], cov: Coverage
) -> bool:
    if rule.kind == Kind.UNMANAGED:  # it hid nothing; were all the scopes it covers read?
        scopes = [s for s in cov.watched if fnmatchcase(s.type, rule.type)]
        return bool(scopes) and all(s in cov.read for s in scopes)
    if any(rule.selects(rtype, rid) for _, _, rtype, rid in cov.unchecked):
        return False  # it may cover a resource this scan could not check
    selected = (
        d
        for rtype, group in by_type.items()
        if fnmatchcase(rtype, rule.type)
        for d in group
        if fnmatchcase(d.id, rule.id)
    )
    if rule.kind == Kind.MISSING:
        return next(selected, None) is None
    parts = split_path(rule.path)  # the path can only cover an attribute the manifest declares
    return not parts or not any(any(fnmatchcase(a, parts[0]) for a in d.spec) for d in selected)
