"""Render a scan result: the stable JSON document and the terminal table."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from driftwatch.config import IgnoreRule
from driftwatch.lifecycle import ACKNOWLEDGED, OPEN, Resolved
from driftwatch.models import Finding, Kind
from driftwatch.scan import ScanResult
from driftwatch.terminal import escape  # rich's escape, control characters made visible

_TITLES = {
    Kind.MODIFIED: "Modified",
    Kind.MISSING: "Missing (declared, not live)",
    Kind.UNMANAGED: "Unmanaged (live, declared nowhere)",
    Kind.NOT_CHECKED: "Not checked",
}
_STYLE = {
    Kind.MODIFIED: "yellow",
    Kind.MISSING: "red",
    Kind.UNMANAGED: "magenta",
    Kind.NOT_CHECKED: "cyan",
}


def to_document(result: ScanResult) -> dict[str, Any]:
    """The `--format json` contract (docs/json-output.md)."""
    drifts = []
    for f in result.findings:
        if not f.kind.is_drift:
            continue
        record = result.record(f)
        drifts.append(
            {
                "kind": f.kind.value,
                "type": f.type,
                "id": f.id,
                "account": f.account,
                "region": f.region,
                "source": f.source,
                "live_id": f.live_id,
                "declared_by": f.declared_by,
                "fingerprint": f.fingerprint,
                "severity": f.severity or None,
                "status": record.status if record else OPEN,
                "transition": record.transition if record else None,
                "first_seen": record.first_seen if record else result.finished_at,
                "changes": [c.to_dict() for c in f.changes],
            }
        )
    return {
        "scan": {
            "id": result.id,
            "commit": result.commit,
            "status": result.status,
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "duration_s": result.duration_s,
            "api_calls": result.api_calls,
            "declared": result.declared,
            "stored": result.lifecycle is not None,
            "stale_source": result.stale_source,
            "states": result.states,
            "auto_remediations": result.auto_remediations,
        },
        "summary": result.summary,
        "drifts": drifts,
        "resolved": [_resolved_doc(r) for r in result.resolved],
        "not_checked": [
            {
                "type": f.type,
                "id": f.id,
                "account": f.account,
                "region": f.region,
                "source": f.source,
                "declared_by": f.declared_by,
                "reason": f.reason,
            }
            for f in result.findings
            if f.kind == Kind.NOT_CHECKED
        ],
        "errors": [e.to_dict() for e in result.errors],
        "expired_ignore_rules": [rule_doc(r) for r in result.expired_rules],
        "ignored": [h.to_dict() for h in result.hidden],
        "unused_ignore_rules": [rule_doc(r) for r in result.unused_rules],
    }


def rule_doc(r: IgnoreRule) -> dict[str, Any]:
    """An [[ignore]] rule as the JSON documents show it."""
    return {
        "index": r.index,
        "kind": r.kind.value,
        "type": r.type,
        "id": r.id,
        "path": r.path,
        "reason": r.reason,
        "expires": r.expires.isoformat() if r.expires else None,
    }


def _resolved_doc(r: Resolved) -> dict[str, Any]:
    d = r.drift
    return {
        "kind": d.kind,
        "type": d.type,
        "id": d.resource_id,
        "account": d.account,
        "region": d.region,
        "fingerprint": d.fingerprint,
        "severity": d.severity,
        "first_seen": d.first_seen,
        "reason": r.reason,
    }


def to_json(result: ScanResult) -> str:
    return json.dumps(to_document(result), indent=2, default=str)


def print_report(result: ScanResult, console: Console) -> None:
    """Resources grouped by kind, plan-style; changes shown declared → live."""
    for kind in (Kind.MODIFIED, Kind.MISSING, Kind.UNMANAGED, Kind.NOT_CHECKED):
        rows = sorted(
            (f for f in result.findings if f.kind == kind),
            key=lambda x: (x.type, x.account, x.region, x.id),
        )
        if not rows:
            continue
        console.print(f"[bold {_STYLE[kind]}]{_TITLES[kind]} ({len(rows)})[/]")
        for f in rows:
            console.print(_headline(kind, f, result))
            for line in _detail_lines(kind, f):
                console.print(line)
        console.print()
    _print_ignored(result, console)
    _print_resolved(result, console)
    for rule in result.expired_rules:
        console.print(
            f"[yellow]ignore rule expired on {rule.expires}[/]: {escape(rule_text(rule))} "
            f"({escape(rule.reason or 'no reason given')}); it no longer applies"
        )
    for rule in result.unused_rules:
        console.print(
            f"[yellow]ignore rule matched nothing in this scan[/]: {escape(rule_text(rule))} "
            f"({escape(rule.reason or 'no reason given')}); check it for a typo, or delete it"
        )
    for message, where in _grouped_errors(result).items():
        label = "internal error" if message.startswith("internal error") else "scope error"
        console.print(f"[red]{label}[/] {escape(', '.join(where))}: {escape(message)}")
    if result.stale_source:
        console.print(
            f"[yellow]stale source[/]: {escape(result.stale_source)}; this scan read the last "
            f"fetched commit {(result.commit or '')[:12]}, not the branch's latest"
        )
    console.print(_summary_line(result))


def rule_text(rule: IgnoreRule) -> str:
    """`ignore[0] type=… id=… path=…`, or `kind=…` in place of the path for whole findings."""
    target = f"path={rule.path}" if rule.kind == Kind.MODIFIED else f"kind={rule.kind}"
    return f"ignore[{rule.index}] type={rule.type} id={rule.id} {target}"


def _print_ignored(result: ScanResult, console: Console) -> None:
    """Unmanaged and missing findings that rules hid, once each, with the rules' indexes."""
    whole: dict[tuple[str, ...], list[str]] = {}
    for h in result.hidden:
        if h.kind != Kind.MODIFIED:
            key = (h.type, h.account, h.region, h.id, h.kind.value)
            whole.setdefault(key, []).append(f"ignore[{h.rule}]")
    if not whole:
        return
    console.print(f"[bold]Ignored ({len(whole)})[/] [dim]unmanaged or missing, hidden by rules[/]")
    for (rtype, account, region, rid, kind), rules in sorted(whole.items()):
        console.print(
            f"  [dim]·[/] [bold]{escape(rtype)}[/] {escape(rid)}  [dim]({escape(account)}/"
            f"{escape(region)}, {kind}, {escape(', '.join(rules))})[/]"
        )
    console.print()


def _print_resolved(result: ScanResult, console: Console) -> None:
    if not result.resolved:
        return
    console.print(f"[bold green]Resolved in this scan ({len(result.resolved)})[/]")
    for r in sorted(result.resolved, key=lambda x: (x.drift.type, x.drift.key)):
        d = r.drift
        console.print(
            f"  [green]✓[/] [bold]{escape(d.type)}[/] {escape(d.resource_id)}  "
            f"[dim]({escape(d.account)}/{escape(d.region)}, was {d.kind} since "
            f"{d.first_seen})[/]: {escape(r.reason)}"
        )
    console.print()


def _grouped_errors(result: ScanResult) -> dict[str, list[str]]:
    """One line per distinct error (13 scopes without credentials is one problem)."""
    grouped: dict[str, list[str]] = {}
    for err in result.errors:
        target = f" {err.resource_id}" if err.resource_id else ""
        grouped.setdefault(err.error, []).append(f"{err.scope}{target}")
    return grouped


_MARK = {Kind.MODIFIED: "~", Kind.MISSING: "-", Kind.UNMANAGED: "+", Kind.NOT_CHECKED: "?"}


def _headline(kind: Kind, f: Finding, result: ScanResult) -> str:
    where = [f"{f.account}/{f.region}"]
    if f.source:
        where.append(f.source)
    record = result.record(f) if kind.is_drift else None
    if record is not None:
        where.append(f"since {record.first_seen}")
    label = _TRANSITION.get(record.transition) if record else None
    if record is not None and record.status == ACKNOWLEDGED:
        label = "(acknowledged)"
    tag = f" [bold]{label}[/]" if label else ""
    if f.severity:
        tag = f"{tag} [{_SEVERITY_STYLE[f.severity]}]\\[{f.severity}][/]"
    return (
        f"  [{_STYLE[kind]}]{_MARK[kind]}[/] [bold]{escape(f.type)}[/] {escape(f.id)}{tag}"
        f"  [dim]({escape(', '.join(where))})[/]"
    )


_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
_TRANSITION = {"new": "(new)", "changed": "(changed)", "reopened": "(reopened)"}


def _detail_lines(kind: Kind, f: Finding) -> list[str]:
    if kind == Kind.NOT_CHECKED:
        return [f"      [dim]{escape(f.reason or '')}[/]"]
    if kind == Kind.UNMANAGED:
        facts = {k: v for k, v in (f.snapshot or {}).items() if k != "id" and v}
        return [f"      [dim]{escape(json.dumps(facts))}[/]"] if facts else []
    return [
        f"      {escape(c.path)}: [green]{escape(_show(c.declared))}[/] → "
        f"[red]{escape(_show(c.live))}[/]"
        for c in f.changes
    ]


def _show(value: Any) -> str:
    if value is None:
        return "(absent)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 300 else text[:297] + "..."


def _summary_line(result: ScanResult) -> str:
    s = result.summary
    commit = (result.commit or "")[:12]
    return (
        f"scan {result.id or '(not stored)'} at {commit} \\[{result.status}]: "
        f"{s['in_sync']} in sync, {s['modified']} modified, {s['missing']} missing, "
        f"{s['unmanaged']} unmanaged, {s['not_checked']} not checked; "
        f"{_lifecycle_counts(result)}"
        f"{len(result.errors)} error(s); {result.api_calls} API calls in {result.duration_s}s"
    )


def _lifecycle_counts(result: ScanResult) -> str:
    if result.lifecycle is None:
        return ""
    found = [d.transition for d in result.lifecycle.found]
    news = sum(t in ("new", "reopened") for t in found)
    return f"{news} new, {found.count('changed')} changed, {len(result.resolved)} resolved; "
