"""Schema migrations (sqlite-utils Migrations); append new steps, never edit applied ones."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("driftwatch")


@migrations()
def m001_initial(db: Database) -> None:
    db.table("scans").create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "commit_sha": str,
            "in_sync": int,
            "modified": int,
            "missing": int,
            "unmanaged": int,
            "not_checked": int,
            "duration_s": float,
            "api_calls": int,
            "error": str,
        },
        pk="id",
    )
    db.table("scope_errors").create(
        {
            "id": int,
            "scan_id": int,
            "account": str,
            "region": str,
            "type": str,
            "resource_id": str,
            "error": str,
        },
        pk="id",
        foreign_keys=[("scan_id", "scans", "id")],
    )
    db.table("resources").create(
        {
            "key": str,
            "account": str,
            "region": str,
            "type": str,
            "resource_id": str,
            "live_id": str,
            "kind": str,
            "source": str,
            "reason": str,
            "snapshot": str,
            "last_scan_id": int,
            "updated_at": str,
        },
        pk="key",
    )
    db.table("drifts").create(
        {
            "fingerprint": str,
            "account": str,
            "region": str,
            "type": str,
            "resource_id": str,
            "kind": str,
            "status": str,
            "source": str,
            "changes": str,
            "first_seen": str,
            "last_seen": str,
            "resolved_at": str,
            "opened_scan_id": int,
            "last_scan_id": int,
        },
        pk="fingerprint",
    )
    db.table("drift_events").create(
        {
            "id": int,
            "fingerprint": str,
            "scan_id": int,
            "at": str,
            "event": str,
            "changes": str,
        },
        pk="id",
        foreign_keys=[("fingerprint", "drifts", "fingerprint"), ("scan_id", "scans", "id")],
    )
    db.table("scope_errors").create_index(["scan_id"])
    db.table("drifts").create_index(["status"])
    db.table("drift_events").create_index(["fingerprint"])
    db.table("resources").create_index(["type"])
