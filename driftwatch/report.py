"""Render a scan result: the stable JSON document and the terminal table."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from driftwatch.lifecycle import ACKNOWLEDGED, OPEN, Resolved
from driftwatch.models import Finding, Kind
from driftwatch.scan import ScanResult

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
                "fingerprint": f.fingerprint,
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
                "reason": f.reason,
            }
            for f in result.findings
            if f.kind == Kind.NOT_CHECKED
        ],
        "errors": [e.to_dict() for e in result.errors],
        "expired_ignore_rules": [
            {
                "type": r.type,
                "id": r.id,
                "path": r.path,
                "reason": r.reason,
                "expires": r.expires.isoformat() if r.expires else None,
            }
            for r in result.expired_rules
        ],
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
    _print_resolved(result, console)
    for rule in result.expired_rules:
        console.print(
            f"[yellow]ignore rule expired on {rule.expires}[/]: "
            f"type={escape(rule.type)} id={escape(rule.id)} path={escape(rule.path)} "
            f"({escape(rule.reason or 'no reason given')}); it no longer applies"
        )
    for message, where in _grouped_errors(result).items():
        label = "internal error" if message.startswith("internal error") else "scope error"
        console.print(f"[red]{label}[/] {escape(', '.join(where))}: {escape(message)}")
    console.print(_summary_line(result))


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
    return (
        f"  [{_STYLE[kind]}]{_MARK[kind]}[/] [bold]{escape(f.type)}[/] {escape(f.id)}{tag}"
        f"  [dim]({escape(', '.join(where))})[/]"
    )


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
