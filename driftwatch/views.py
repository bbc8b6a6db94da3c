"""Render stored records for the CLI: the drift list and a resource's history."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from driftwatch.errors import DriftwatchError
from driftwatch.lifecycle import ACKNOWLEDGED, RESOLVED
from driftwatch.store import Store
from driftwatch.terminal import escape, printable

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
                Text(printable(str(v)))
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


def ignored_report(store: Store) -> dict[str, Any]:
    """`driftwatch ignored`: each [[ignore]] rule of the last completed scan and what it hid."""
    scan = store.last_completed_scan()
    if scan is None:
        raise DriftwatchError(f"no completed scan in {store.path} yet; run `driftwatch scan` first")
    hid: dict[int, list[dict[str, Any]]] = {}
    for h in store.ignore_hits(scan["id"]):
        hid.setdefault(h["rule_index"], []).append(
            {
                "kind": h["kind"],
                "type": h["type"],
                "id": h["resource_id"],
                "account": h["account"],
                "region": h["region"],
                "path": h["path"],
            }
        )
    return {
        "scan": {k: scan[k] for k in ("id", "finished_at", "status")}
        | {"commit": scan["commit_sha"]},
        "rules": [
            _rule_entry(r, hid.get(r["rule_index"], [])) for r in store.ignore_rules(scan["id"])
        ],
    }


def _rule_entry(row: dict[str, Any], hid: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("kind", "type", "id", "path", "reason", "expires", "status")
    return {"index": row["rule_index"], **{k: row[k] for k in keys}, "hid": hid}


def print_ignored(report: dict[str, Any], console: Console) -> None:
    scan = report["scan"]
    console.print(
        f"[bold]ignore rules in scan {scan['id']}[/] ({scan['finished_at']}, {scan['status']})"
    )
    if not report["rules"]:
        console.print(escape("  no [[ignore]] rules were configured for this scan"))
    for rule in report["rules"]:
        console.print(_rule_headline(rule))
        for line in _hid_lines(rule["hid"]) or [_idle(rule["status"])]:
            console.print(f"    {line}")


def _rule_headline(rule: dict[str, Any]) -> str:
    target = f"path={rule['path']}" if rule["kind"] == "modified" else f"kind={rule['kind']}"
    text = f"ignore[{rule['index']}] type={rule['type']} id={rule['id']} {target}"
    expires = f", expires {rule['expires']}" if rule["expires"] else ""
    reason = escape(rule["reason"] or "no reason given")
    return f"[bold]{escape(text)}[/]  [dim]({reason}{expires})[/]"


def _hid_lines(hid: list[dict[str, Any]]) -> list[str]:
    """One line per resource: a whole finding, or the change paths hidden on it."""
    paths: dict[tuple[str, str, str, str, str], list[str]] = {}
    for h in hid:
        key = (h["kind"], h["type"], h["id"], h["account"], h["region"])
        paths.setdefault(key, []).extend([h["path"]] if h["path"] else [])
    return [_hid_line(*key, found) for key, found in paths.items()]


def _hid_line(kind: str, rtype: str, rid: str, account: str, region: str, paths: list[str]) -> str:
    what = f"{escape(rtype)} {escape(rid)} [dim]({escape(account)}/{escape(region)})[/]"
    return f"{what}: {escape(', '.join(paths))}" if paths else f"{kind} {what}"


_IDLE = {
    "expired": "[yellow]expired[/]: hid nothing",
    "unused": "[yellow]matched nothing in this scan[/]: check it for a typo, or delete it",
    "active": "[dim]hid nothing in this scan[/]",
}


def _idle(status: str) -> str:
    return _IDLE.get(status, "hid nothing")


def declared_report(loaded: Any, source: str | None = None) -> dict[str, Any]:
    """`driftwatch declared`: resources, attributes (secret values hidden), states, failures."""
    from driftwatch.diff import HIDDEN
    from driftwatch.registry import collectors

    tf = loaded.terraform
    urls = {s.state for s in tf.states if source is None or s.source == source}
    resources = []
    for res in loaded.resources:
        by = res.declared_by
        if source is not None and (by is None or by["state"] not in urls):
            continue
        attrs = collectors.get(res.type).attributes
        resources.append(
            {
                "type": res.type,
                "id": res.id,
                "account": res.account,
                "region": res.region,
                "source": res.where,
                "declared_by": by,
                "attributes": {
                    name: {
                        "status": res.notes.get(name, "declared"),
                        "value": (
                            {k: HIDDEN for k in res.spec[name]}
                            if attrs[name].kind.secret
                            else res.spec[name]
                        )
                        if name in res.spec
                        else None,
                    }
                    for name in dict.fromkeys([*res.spec, *res.notes])
                },
            }
        )
    return {
        "resources": resources,
        "states": [s.to_dict() for s in tf.states if source is None or s.source == source],
        "failures": [f.__dict__ for f in tf.failures if source is None or f.source == source],
        "orphans": tf.orphans,
    }


def print_declared(report: dict[str, Any], console: Console) -> None:
    for st in report["states"]:
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(st["skipped"].items())) or "none"
        encrypted = " (OpenTofu encrypted, decrypted)" if st.get("encrypted") else ""
        console.print(
            f"[bold]{escape(st['state'])}[/] ({escape(st['workspace'])}){encrypted} serial "
            f"{st['serial']} lineage {escape(str(st['lineage']))}: {st['kept']} kept; "
            f"skipped: {escape(skipped)}"
        )
    for res in report["resources"]:
        console.print(
            f"  [bold]{escape(res['type'])}[/] {escape(res['id'])}  "
            f"[dim]({escape(res['account'])}/{escape(res['region'])}, {escape(res['source'])})[/]"
        )
        for name, a in res["attributes"].items():
            console.print(f"      {escape(name)}: [dim]{escape(a['status'])}[/]")
    for orphan in report["orphans"]:
        console.print(f"[yellow]not folded[/] {escape(orphan)}")
    for f in report["failures"]:
        console.print(f"[red]unreadable[/] {escape(f['error'])}")
