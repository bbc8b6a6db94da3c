"""Render stored records for the CLI: the drift list and a resource's history."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from driftwatch.lifecycle import ACKNOWLEDGED, RESOLVED
from driftwatch.store import Store

_DRIFT_FIELDS = (
    "fingerprint",
    "kind",
    "type",
    "resource_id",
    "account",
    "region",
    "status",
    "source",
    "first_seen",
    "last_seen",
    "resolved_at",
    "resolved_reason",
    "ack_by",
    "ack_at",
    "ack_reason",
    "ack_until",
    "changes",
)


def drifts_json(rows: list[dict[str, Any]]) -> str:
    """`driftwatch drifts --format json`: {"drifts": [...]} (docs/json-output.md)."""
    drifts = [{k: r.get(k) for k in _DRIFT_FIELDS} for r in rows]
    for d in drifts:
        d["id"] = d.pop("resource_id")
    return json.dumps({"drifts": drifts}, indent=2, default=str)


def print_drifts(rows: list[dict[str, Any]], console: Console) -> None:
    if not rows:
        console.print("no drift records match")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("kind", "type", "id", "account/region", "status", "since", "changes / reason"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            *(
                Text(str(v))
                for v in (
                    r["kind"],
                    r["type"],
                    r["resource_id"],
                    f"{r['account']}/{r['region']}",
                    r["status"],
                    r["first_seen"],
                    _outcome(r),
                )
            )
        )
    console.print(table)
    console.print(f"{len(rows)} drift record(s)")


def _outcome(r: dict[str, Any]) -> str:
    if r["status"] == RESOLVED:
        return f"{r['status']} {r.get('resolved_at') or ''}: {r.get('resolved_reason') or ''}"
    if r["status"] == ACKNOWLEDGED:
        until = f" until {r['ack_until']}" if r.get("ack_until") else ""
        return f"acknowledged by {r.get('ack_by')}{until}: {r.get('ack_reason') or ''}"
    paths = [c["path"] for c in r.get("changes") or []]
    return ", ".join(paths) if paths else ""


def resource_history(store: Store, rtype: str, rid: str) -> list[dict[str, Any]]:
    """Per stored resource with this type and id: its record and its merged timeline."""
    out = []
    for res in store.resource_rows(rtype, rid):
        timeline = _state_changes(store.snapshots(res["key"]))
        for drift in store.drifts_of(res["account"], res["region"], rtype, rid):
            timeline += [
                {
                    "at": e["at"],
                    "scan_id": e["scan_id"],
                    "what": f"drift {drift['kind']} {e['event']}",
                    "changes": e.get("changes"),
                    "reason": e.get("reason"),
                }
                for e in store.events(drift["fingerprint"])
            ]
        timeline.sort(key=lambda x: (x["at"], x["scan_id"] or 0, x["what"].startswith("drift")))
        out.append({"resource": res, "timeline": timeline})
    return out


def _state_changes(snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per stored state: its kind, and which attributes changed since the last read."""
    entries, last = [], None
    for s in snapshots:
        snap = s.get("snapshot")
        changed: list[str] = (
            _changed_keys(last, snap) if snap is not None and last is not None else []
        )
        entries.append(
            {
                "at": s["at"],
                "scan_id": s["scan_id"],
                "what": f"state {s['kind']}",
                "changed": changed,
                "snapshot": snap,
            }
        )
        if snap is not None:
            last = snap
    return entries


def _changed_keys(before: Any, after: Any) -> list[str]:
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return [] if before == after else ["(whole snapshot)"]
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def print_history(timelines: list[dict[str, Any]], console: Console) -> None:
    for item in timelines:
        r = item["resource"]
        console.print(
            f"[bold]{escape(r['type'])} {escape(r['resource_id'])}[/] "
            f"({escape(r['account'])}/{escape(r['region'])}): now {r['kind']}, "
            f"seen {r['first_seen']} → {r['last_seen']}"
        )
        for e in item["timeline"]:
            console.print(f"  {e['at']}  {escape(e['what'])}{escape(_detail(e))}")
        console.print()


def _detail(e: dict[str, Any]) -> str:
    if e.get("reason"):
        return f": {e['reason']}"
    if e.get("changes"):
        return ": " + ", ".join(c["path"] for c in e["changes"])
    if e.get("changed"):
        return ": " + ", ".join(e["changed"]) + " changed"
    return ""
