"""[[ignore]] rules as a scan applies them: type checks, whole findings, what each rule hid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from fnmatch import fnmatchcase

from driftwatch.config import Config, IgnoreRule
from driftwatch.errors import ConfigError
from driftwatch.models import Finding, Hidden, Kind

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
