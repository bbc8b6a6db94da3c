"""Render a scan result: the stable JSON document and the terminal table."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from driftwatch.models import Finding, Kind
from driftwatch.scan import ScanResult, drift_status
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
        status, first_seen = drift_status(result, f)
        drifts.append(
            {
                "kind": f.kind.value,
                "type": f.type,
                "id": f.id,
                "account": f.account,
                "region": f.region,
                "source": f.source,
                "live_id": f.live_id,
                "status": status,
                "first_seen": first_seen,
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
            "stale_source": result.stale_source,
        },
        "summary": result.summary,
        "drifts": drifts,
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
    for rule in result.expired_rules:
        console.print(
            f"[yellow]ignore rule expired on {rule.expires}[/]: "
            f"type={escape(rule.type)} id={escape(rule.id)} path={escape(rule.path)} "
            f"({escape(rule.reason or 'no reason given')}); it no longer applies"
        )
    for message, where in _grouped_errors(result).items():
        console.print(f"[red]scope error[/] {escape(', '.join(where))}: {escape(message)}")
    if result.stale_source:
        console.print(
            f"[yellow]stale source[/]: {escape(result.stale_source)}; this scan read the last "
            f"fetched commit {(result.commit or '')[:12]}, not the branch's latest"
        )
    console.print(_summary_line(result))


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
    if kind.is_drift:
        where.append(f"since {drift_status(result, f)[1]}")
    return (
        f"  [{_STYLE[kind]}]{_MARK[kind]}[/] [bold]{escape(f.type)}[/] {escape(f.id)}"
        f"  [dim]({escape(', '.join(where))})[/]"
    )


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
        f"{len(result.errors)} error(s); {result.api_calls} API calls in {result.duration_s}s"
    )
