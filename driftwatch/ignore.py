"""[[ignore]] rules as a scan applies them: type checks, whole findings, what each rule hid."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from driftwatch.config import Config
from driftwatch.errors import ConfigError

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
