"""The store as it was before the set-based persist (commit 617526c), kept as a baseline.

`bench/store_bench.py` measures the current store against this one in the same run.
It is benchmark code only: nothing in driftwatch imports it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from driftwatch.errors import StoreError
from driftwatch.models import Finding, Kind, Scope, ScopeError

OPEN, RESOLVED = "open", "resolved"

migrations = Migrations("driftwatch-legacy")


@migrations()
def m001_initial(db: Database) -> None:
    """The schema of 617526c (driftwatch.store.migrations.m001_initial)."""
    from driftwatch.store.migrations import m001_initial as current_m001

    current_m001(db)


def fingerprint(account: str, region: str, rtype: str, rid: str, kind: str) -> str:
    """The identity of a drift record across scans."""
    return hashlib.sha256("\x1f".join((account, region, rtype, rid, kind)).encode()).hexdigest()[
        :32
    ]


def finding_fingerprint(f: Finding) -> str:
    return fingerprint(f.account, f.region, f.type, f.id, f.kind.value)


def resource_key(account: str, region: str, rtype: str, rid: str) -> str:
    return "/".join((account, region, rtype, rid))


@dataclass
class ScanRecord:
    """Everything one finished scan writes."""

    started_at: str
    finished_at: str
    status: str
    commit_sha: str | None
    findings: list[Finding]
    errors: list[ScopeError]
    checked_scopes: set[Scope]
    api_calls: int = 0
    duration_s: float = 0.0
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


class Store:
    """A driftwatch database file (WAL mode, migrated on open)."""

    def __init__(self, path: str | Path) -> None:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = Database(path)
            self.db.enable_wal()
            self.db.execute("PRAGMA busy_timeout = 10000")
            migrations.apply(self.db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None

    def close(self) -> None:
        self.db.close()

    # --- reads -------------------------------------------------------------------------

    def drifts(self, status: str | None = None) -> list[dict[str, Any]]:
        where, args = ("status = ?", [status]) if status else (None, None)
        return [
            _decode(r)
            for r in self.db.table("drifts").rows_where(where, args, order_by="first_seen")
        ]

    def drift_map(self) -> dict[str, dict[str, Any]]:
        return {r["fingerprint"]: r for r in self.drifts()}

    def events(self, fp: str | None = None) -> list[dict[str, Any]]:
        where, args = ("fingerprint = ?", [fp]) if fp else (None, None)
        return [
            _decode(r) for r in self.db.table("drift_events").rows_where(where, args, order_by="id")
        ]

    def scans(self) -> list[dict[str, Any]]:
        return list(self.db.table("scans").rows_where(order_by="id"))

    def scope_errors(self, scan_id: int) -> list[dict[str, Any]]:
        return list(
            self.db.table("scope_errors").rows_where("scan_id = ?", [scan_id], order_by="id")
        )

    def resources(self) -> list[dict[str, Any]]:
        return [_decode(r) for r in self.db.table("resources").rows_where(order_by="key")]

    # --- writes ------------------------------------------------------------------------

    def record_failed_scan(
        self, started_at: str, finished_at: str, commit_sha: str | None, error: str
    ) -> int:
        """A scan that could not run (bad declared state, Git down): nothing else changes."""
        with self.db.atomic():
            row = {
                "started_at": started_at,
                "finished_at": finished_at,
                "status": "failed",
                "commit_sha": commit_sha,
                "error": error,
            }
            return int(self.db.table("scans").insert(row).last_pk or 0)

    def persist_scan(self, rec: ScanRecord) -> tuple[int, dict[str, dict[str, Any]]]:
        """Write the scan, snapshots, drift lifecycle and events in one transaction."""
        with self.db.atomic():
            scan_id = self._insert_scan(rec)
            self._write_errors(scan_id, rec.errors)
            self._write_resources(scan_id, rec)
            drifts = self._write_lifecycle(scan_id, rec)
        return scan_id, drifts

    def _insert_scan(self, rec: ScanRecord) -> int:
        row = {
            "started_at": rec.started_at,
            "finished_at": rec.finished_at,
            "status": rec.status,
            "commit_sha": rec.commit_sha,
            "duration_s": rec.duration_s,
            "api_calls": rec.api_calls,
            "error": rec.error,
            **rec.counts,
        }
        return int(self.db.table("scans").insert(row).last_pk or 0)

    def _write_errors(self, scan_id: int, errors: Iterable[ScopeError]) -> None:
        self.db.table("scope_errors").insert_all(
            {
                "scan_id": scan_id,
                "account": e.scope.account,
                "region": e.scope.region,
                "type": e.scope.type,
                "resource_id": e.resource_id,
                "error": e.error,
            }
            for e in errors
        )

    def _write_resources(self, scan_id: int, rec: ScanRecord) -> None:
        rows = []
        for f in rec.findings:
            row = {
                "key": resource_key(f.account, f.region, f.type, f.id),
                "account": f.account,
                "region": f.region,
                "type": f.type,
                "resource_id": f.id,
                "kind": f.kind.value,
                "source": f.source,
                "reason": f.reason,
                "last_scan_id": scan_id,
                "updated_at": rec.finished_at,
            }
            if f.kind != Kind.NOT_CHECKED:  # not checked keeps the last snapshot read
                row["live_id"] = f.live_id
                row["snapshot"] = json.dumps(f.snapshot, sort_keys=True, default=str)
            rows.append(row)
        self.db.table("resources").upsert_all(rows, pk="key", alter=False)

    def _write_lifecycle(self, scan_id: int, rec: ScanRecord) -> dict[str, dict[str, Any]]:
        now = rec.finished_at
        existing = self.drift_map()
        current = {finding_fingerprint(f): f for f in rec.findings if f.kind.is_drift}
        unchecked = {
            resource_key(f.account, f.region, f.type, f.id)
            for f in rec.findings
            if f.kind == Kind.NOT_CHECKED
        }
        events: list[dict[str, Any]] = []
        for fp, f in current.items():
            changes = json.loads(json.dumps([c.to_dict() for c in f.changes], default=str))
            row = existing.get(fp)
            event = (
                "opened"
                if row is None
                else "reopened"
                if row["status"] != OPEN
                else "changed"
                if row["changes"] != changes
                else None
            )
            existing[fp] = self._upsert_drift(fp, f, changes, row, event, scan_id, now)
            if event:
                events.append(_event(fp, scan_id, now, event, changes))
        for fp, row in existing.items():
            if row["status"] != OPEN or fp in current:
                continue
            scope = Scope(row["account"], row["region"], row["type"])
            key = resource_key(row["account"], row["region"], row["type"], row["resource_id"])
            if scope in rec.checked_scopes and key not in unchecked:
                update = {"status": RESOLVED, "resolved_at": now, "last_scan_id": scan_id}
                self.db.table("drifts").update(fp, update)
                row.update(update)
                events.append(_event(fp, scan_id, now, "resolved", row["changes"]))
        self._write_events(events)
        return existing

    def _upsert_drift(
        self,
        fp: str,
        f: Finding,
        changes: list[dict[str, Any]],
        row: dict[str, Any] | None,
        event: str | None,
        scan_id: int,
        now: str,
    ) -> dict[str, Any]:
        fresh = row is None or event == "reopened"
        new = {
            "fingerprint": fp,
            "account": f.account,
            "region": f.region,
            "type": f.type,
            "resource_id": f.id,
            "kind": f.kind.value,
            "status": OPEN,
            "source": f.source,
            "changes": json.dumps(changes, sort_keys=True, default=str),
            "last_seen": now,
            "last_scan_id": scan_id,
            "resolved_at": None,
        }
        if fresh:
            new.update(first_seen=now, opened_scan_id=scan_id)
        self.db.table("drifts").upsert(new, pk="fingerprint")
        return _decode(self.db.table("drifts").get(fp))

    def _write_events(self, events: list[dict[str, Any]]) -> None:
        self.db.table("drift_events").insert_all(events)


def _event(fp: str, scan_id: int, at: str, event: str, changes: Any) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "scan_id": scan_id,
        "at": at,
        "event": event,
        "changes": json.dumps(changes, sort_keys=True, default=str),
    }


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("changes", "snapshot"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out
