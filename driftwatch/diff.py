"""Canonical comparison of declared and live attributes → findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from deepdiff import DeepDiff

from driftwatch.collectors.base import Collector
from driftwatch.config import IgnoreRule
from driftwatch.models import Change, DeclaredResource, Finding, Hidden, Kind, LiveResource
from driftwatch.paths import join_path, path_matches, split_path
from driftwatch.schema import SECRET_KEY

Ignored = Callable[[str], bool]


def ignore_matcher(
    rtype: str,
    rid: str,
    rules: Sequence[IgnoreRule],
    local: Sequence[str],
    today: dt.date,
    hits: list[tuple[int, str]] | None = None,
) -> Ignored:
    """A predicate over attribute paths: True when a live rule or a per-resource glob covers it.

    With `hits`, each (rule index, path) a config rule covers is appended to it.
    """
    active = [r for r in rules if not r.expired(today)]

    def ignored(path: str) -> bool:
        parts = split_path(path)
        matched = [r.index for r in active if r.matches(rtype, rid, parts)]
        if hits is not None:
            hits.extend((i, path) for i in matched)
        return bool(matched) or any(path_matches(g, parts) for g in local)

    return ignored


def compare(declared: dict[str, Any], live: dict[str, Any], ignored: Ignored) -> list[Change]:
    """Changes between canonical declared and live attributes, for declared attributes only."""
    changes: list[Change] = []
    for name, want in declared.items():
        have = live.get(name)
        if want == have or ignored(name):
            continue
        changes += [c for c in _deep_changes(name, want, have) if not ignored(c.path)]
    return sorted(changes, key=lambda c: c.path)


def _deep_changes(name: str, want: Any, have: Any) -> list[Change]:
    if not (isinstance(want, dict) and isinstance(have, dict)):
        return [Change(name, want, have)]
    # threshold_to_diff_deeper=0: never report a whole mapping because most of its keys
    # differ (DeepDiff's default above 33%, and always against an empty one): one path
    # per key, so an ignore rule on one key applies and a revert touches only that key.
    tree = DeepDiff(want, have, view="tree", verbose_level=2, threshold_to_diff_deeper=0)
    paths: dict[tuple[Any, ...], None] = {}
    for reports in tree.values():
        for report in reports:
            parts = report.path(output_format="list")
            # A list (a set in canonical form, or policy statements) is shown whole.
            cut = next((i for i, p in enumerate(parts) if isinstance(p, int)), len(parts))
            paths[tuple(parts[:cut])] = None
    return [
        Change(join_path([name, *parts]), _get(want, parts), _get(have, parts)) for parts in paths
    ]


HIDDEN, HIDDEN_CHANGED = "(hidden)", "(hidden: differs)"


def _hide_secret(change: Change, collector: Collector) -> Change:
    """Secret attributes keep their path but never a value, not even a digest."""
    attr = collector.attributes.get(split_path(change.path)[0])
    if attr is None or not attr.kind.secret:
        return change
    declared, live = _mask(change.declared), _mask(change.live)
    if live == HIDDEN and declared == HIDDEN:
        live = HIDDEN_CHANGED
    return Change(change.path, declared, live)


def _mask(value: Any) -> Any:
    if value is None:
        return None
    return {k: HIDDEN for k in value} if isinstance(value, dict) else HIDDEN


def _get(value: Any, parts: Sequence[Any]) -> Any:
    for p in parts:
        if not isinstance(value, dict) or p not in value:
            return None
        value = value[p]
    return value


def diff_resource(
    collector: Collector,
    declared: DeclaredResource,
    live: LiveResource,
    rules: Sequence[IgnoreRule],
    today: dt.date,
    *,
    secret_key: bytes,
) -> Finding:
    """in_sync or modified, comparing only what the manifest declares.

    `secret_key` is the installation's key for digesting secret values; it is passed
    per call so that two scans in one process can never digest with each other's key.
    """
    ctx = {**collector.context(live), SECRET_KEY: secret_key}
    want = collector.canonical(declared.spec, ctx)
    have = collector.canonical({k: live.attrs.get(k) for k in declared.spec}, ctx)
    changes: list[Change] = []
    hits: list[tuple[int, str]] = []
    if want != have:  # the fast path: most resources are in sync
        ignored = ignore_matcher(declared.type, declared.id, rules, declared.ignore, today, hits)
        changes = [_hide_secret(c, collector) for c in compare(want, have, ignored)]
    return Finding(
        Kind.MODIFIED if changes else Kind.IN_SYNC,
        declared.type,
        declared.id,
        declared.account,
        declared.region,
        source=declared.source,
        live_id=live.id,
        changes=changes,
        snapshot=have,
        hidden=[_hidden(declared, i, path) for i, path in dict.fromkeys(hits)],
    )


def _hidden(declared: DeclaredResource, rule: int, path: str) -> Hidden:
    return Hidden(
        rule, Kind.MODIFIED, declared.type, declared.id, declared.account, declared.region, path
    )
