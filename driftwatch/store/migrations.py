"""Schema migrations (sqlite-utils Migrations); append new steps, never edit applied ones."""

from __future__ import annotations

import json

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from driftwatch.lifecycle import text_hash, to_json

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


@migrations()
def m002_lifecycle_and_history(db: Database) -> None:
    """Resolution reasons, change hashes, snapshot history, internal errors, retention."""
    db.table("drifts").add_column("resolved_reason", str)
    db.table("drifts").add_column("changes_hash", str)
    for fp, changes in db.execute("SELECT fingerprint, changes FROM drifts").fetchall():
        digest = text_hash(to_json(json.loads(changes or "[]")))
        db.execute("UPDATE drifts SET changes_hash = ? WHERE fingerprint = ?", [digest, fp])
    db.table("drift_events").add_column("reason", str)
    db.table("scans").add_column("declared", int)
    db.table("scope_errors").add_column("internal", int)
    db.table("snapshots").create(
        {
            "id": int,
            "key": str,
            "scan_id": int,
            "at": str,
            "kind": str,
            "hash": str,
            "snapshot": str,
        },
        pk="id",
    )
    db.table("resources").add_column("snapshot_hash", str)
    db.table("resources").add_column("first_seen", str)
    db.table("resources").add_column("last_seen", str)
    # Each resource's last snapshot becomes the first row of its history.
    for key, kind, snap, scan_id, at in db.execute(
        "SELECT key, kind, snapshot, last_scan_id, updated_at FROM resources"
    ).fetchall():
        snap = to_json(json.loads(snap)) if snap else None
        snap_hash = text_hash(snap) if snap else None
        db.execute(
            "INSERT INTO snapshots (key, scan_id, at, kind, hash, snapshot) VALUES (?,?,?,?,?,?)",
            [key, scan_id, at, kind, snap_hash, snap],
        )
        db.execute(
            "UPDATE resources SET snapshot_hash = ?, first_seen = ?, last_seen = ? WHERE key = ?",
            [snap_hash, at, at, key],
        )
    db.table("resources").transform(drop={"snapshot", "updated_at"})
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("snapshots").create_index(["key", "id"])
    db.table("snapshots").create_index(["at"])
    db.table("resources").create_index(["last_seen"])
    db.table("scans").create_index(["started_at"])
    db.table("drift_events").create_index(["at"])
    db.table("drifts").create_index(["status", "resolved_at"])
    db.table("drifts").create_index(["type", "resource_id"])


@migrations(transactional=False)
def m003_incremental_vacuum(db: Database) -> None:
    """Let `prune` hand freed pages back to the file system (auto_vacuum needs a VACUUM)."""
    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    db.execute("VACUUM")


@migrations()
def m004_ignore_rules_and_hits(db: Database) -> None:
    """Per scan: each [[ignore]] rule as it was, and what it hid (`driftwatch ignored`)."""
    db.table("ignore_rules").create(
        {
            "scan_id": int,
            "rule_index": int,
            "kind": str,
            "type": str,
            "id": str,
            "path": str,
            "reason": str,
            "expires": str,
            "status": str,
        },
        pk=("scan_id", "rule_index"),
        foreign_keys=[("scan_id", "scans", "id")],
    )
    db.table("ignore_hits").create(
        {
            "id": int,
            "scan_id": int,
            "rule_index": int,
            "kind": str,
            "account": str,
            "region": str,
            "type": str,
            "resource_id": str,
            "path": str,
        },
        pk="id",
        foreign_keys=[("scan_id", "scans", "id")],
    )
    db.table("ignore_hits").create_index(["scan_id", "rule_index"])


@migrations()
def m005_scan_stale_source(db: Database) -> None:
    """The Git fetch error of a scan that read the last fetched commit (on_fetch_error)."""
    db.table("scans").add_column("stale_source", str)


@migrations()
def m005_severity(db: Database) -> None:
    """Each drift record's severity, as its last scan judged it (driftwatch.severity)."""
    db.table("drifts").add_column("severity", str)


@migrations()
def m006_outbox_lease_schedules(db: Database) -> None:
    """Alerts outbox, announced drift events, the scheduler lease, schedule runs, scan
    requests (docs/operations.md#the-scheduler)."""
    db.table("outbox").create(
        {
            "id": int,
            "delivery_id": str,  # the idempotency key the receiver sees
            "channel": str,
            "scan_id": int,
            "kind": str,  # digest or test
            "payload": str,
            "status": str,  # pending, sent, failed
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"delivery_id", "channel", "status", "payload"},
    )
    db.table("outbox").create_index(["delivery_id"], unique=True)
    db.table("outbox").create_index(["status", "next_attempt_at"])
    db.execute(
        "CREATE UNIQUE INDEX idx_outbox_channel_scan ON outbox (channel, scan_id) "
        "WHERE kind = 'digest'"
    )
    db.table("alert_items").create(
        {"channel": str, "fingerprint": str, "event_id": int, "outbox_id": int},
        pk=("channel", "fingerprint", "event_id"),
    )
    db.table("leases").create(
        {"name": str, "holder": str, "epoch": int, "expires_at": float, "acquired_at": str},
        pk="name",
    )
    db.table("schedule_runs").create(
        {
            "name": str,
            "every": str,
            "next_run_at": str,
            "last_run_at": str,
            "last_scan_id": int,
            "last_status": str,
        },
        pk="name",
    )
    db.table("scan_requests").create(
        {
            "id": int,
            "requested_at": str,
            "requested_by": str,
            "status": str,  # queued, running, done, failed
            "scan_id": int,
            "started_at": str,
            "finished_at": str,
            "error": str,
        },
        pk="id",
    )
    db.table("scan_requests").create_index(["status"])
    db.table("scans").add_column("trigger", str)
    db.table("scans").add_column("epoch", int)


@migrations()
def m007_dashboard(db: Database) -> None:
    """Acknowledgements, event actors, users, API tokens, login throttling, the audit log,
    and the indexes the dashboard's keyset-paginated lists read."""
    for column in ("ack_by", "ack_at", "ack_reason", "ack_until"):
        db.table("drifts").add_column(column, str)
    db.table("drift_events").add_column("actor", str)
    # The open and acknowledged counts after each scan: the overview's chart over time.
    db.table("scans").add_column("open_drifts", int)
    db.table("scans").add_column("acknowledged_drifts", int)
    db.table("users").create(
        {"id": int, "name": str, "password_hash": str, "role": str, "created_at": str},
        pk="id",
        not_null={"name", "password_hash", "role"},
    )
    db.table("users").create_index(["name"], unique=True)
    db.table("api_tokens").create(
        {
            "id": int,
            "user_id": int,
            "name": str,
            "scope": str,
            "token_hash": str,
            "prefix": str,
            "created_at": str,
            "last_used_at": str,
            "revoked_at": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("api_tokens").create_index(["token_hash"], unique=True)
    db.table("login_failures").create({"id": int, "at": str, "name": str, "ip": str}, pk="id")
    db.table("login_failures").create_index(["at"])
    db.table("audit_log").create(
        {
            "id": int,
            "at": str,
            "actor": str,
            "ip": str,
            "action": str,
            "target": str,
            "detail": str,
        },
        pk="id",
    )
    # Append-only: no statement, from any route or any tool using this schema, may
    # change or remove an audit row.
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    for cols in (
        ["first_seen", "fingerprint"],
        ["last_seen", "fingerprint"],
        ["type", "account", "first_seen", "fingerprint"],
        ["status", "first_seen", "fingerprint"],
        ["status", "last_seen", "fingerprint"],
        ["status", "ack_until"],
    ):
        db.table("drifts").create_index(cols)
    db.table("drift_events").create_index(["fingerprint", "id"])
    db.table("resources").create_index(["kind", "key"])
    db.table("resources").create_index(["account", "region", "type", "resource_id"])


@migrations()
def m008_list_indexes(db: Database) -> None:
    """Indexes measured with bench/web_bench.py: the overview's and /metrics' GROUP BY
    of open drifts read from the index alone; the list filtered by status, type and
    account; free text on the id checked in the index before any row is read."""
    db.table("drifts").create_index(["status", "kind", "type", "account", "region"])
    db.table("drifts").create_index(["status", "type", "account", "first_seen", "fingerprint"])
    db.execute("DROP INDEX IF EXISTS idx_drifts_status_first_seen_fingerprint")
    db.table("drifts").create_index(["status", "first_seen", "fingerprint", "resource_id"])


@migrations()
def m009_no_last_seen_indexes(db: Database) -> None:
    """Every scan moves `last_seen` of every open drift and every resource it read: an
    index on it is rewritten whole each scan (measured: the 100k-drift unchanged scan's
    touch went from 0.3 s to 1.35 s with the two drift indexes). Sorting the drift list
    by last seen and prune's daily `last_seen < cutoff` read the table instead."""
    for name in (
        "idx_drifts_last_seen_fingerprint",
        "idx_drifts_status_last_seen_fingerprint",
        "idx_resources_last_seen",
    ):
        db.execute(f"DROP INDEX IF EXISTS [{name}]")


@migrations()
def m010_severity_and_scan_indexes(db: Database) -> None:
    """The overview's and /metrics' GROUP BY of open drifts now includes severity: read
    from one covering index again (it supersedes the one without severity, its prefix).
    The drift list's `scan=` filter (an alert's "+N more" link) finds a scan's events by
    index instead of reading every event."""
    db.table("drifts").create_index(["status", "kind", "type", "account", "region", "severity"])
    db.execute("DROP INDEX IF EXISTS idx_drifts_status_kind_type_account_region")
    db.table("drift_events").create_index(["scan_id"])


@migrations()
def m011_remediations(db: Database) -> None:
    """Remediations: a plan (redacted calls, file diff or request), who asked, approved and
    ran it, and what happened. One `executing` row per resource at a time (the
    per-resource lock a double click or a second user runs into)."""
    db.table("remediations").create(
        {
            "id": int,
            "fingerprint": str,
            "resource_key": str,
            "mode": str,
            "options": str,
            "status": str,
            "plan": str,
            "plan_hash": str,
            "live_hash": str,
            "requested_by": str,
            "requested_at": str,
            "expires_at": str,
            "approved_by": str,
            "approved_at": str,
            "executed_by": str,
            "executed_at": str,
            "finished_at": str,
            "result": str,
            "auto": int,
        },
        pk="id",
        not_null={"fingerprint", "resource_key", "mode", "status", "plan"},
    )
    db.table("remediations").create_index(["fingerprint", "id"])
    db.table("remediations").create_index(["status", "requested_at"])
    db.execute(
        "CREATE UNIQUE INDEX idx_remediations_executing ON remediations (resource_key) "
        "WHERE status = 'executing'"
    )


@migrations()
def m012_reminders(db: Database) -> None:
    """When each channel was last reminded of each drift still open (repeat_interval)."""
    db.table("reminders").create(
        {"channel": str, "fingerprint": str, "at": str}, pk=("channel", "fingerprint")
    )


@migrations()
def m013_scan_request_progress(db: Database) -> None:
    """A requested scan's progress while it runs (the scan-now page shows it live)."""
    for column in ("scopes_done", "scopes_total", "resources_read", "api_calls"):
        db.table("scan_requests").add_column(column, int)


@migrations()
def m014_sessions(db: Database) -> None:
    """Dashboard sessions on the server: the cookie names a row, logout deletes it, so a
    copied cookie is refused after logout (a signed cookie alone stays valid). Only the
    session secret's SHA-256 is stored. Login attempts in flight are marked pending."""
    db.table("sessions").create(
        {"id": int, "token_hash": str, "user_id": int, "created_at": str, "ip": str},
        pk="id",
        not_null={"token_hash", "user_id", "created_at"},
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("sessions").create_index(["token_hash"], unique=True)
    db.table("sessions").create_index(["created_at"])
    # A login attempt is written before its password check (pending), settled as a
    # failure or deleted on success: parallel guesses cannot outrun the throttle.
    db.table("login_failures").add_column("pending", int)


@migrations()
def m015_terraform_states(db: Database) -> None:
    """Each Terraform/OpenTofu state a scan read: which snapshot (serial, lineage, format
    version), whether it was encrypted, written in the scan's transaction (until now only
    in the scan's JSON)."""
    db.table("terraform_states").create(
        {
            "scan_id": int,
            "source": str,
            "workspace": str,
            "state": str,
            "serial": int,
            "lineage": str,
            "version": int,
            "terraform_version": str,
            "resources": int,
            "encrypted": int,
        },
        pk=("scan_id", "source", "workspace"),
        not_null={"scan_id", "source", "workspace", "state"},
        foreign_keys=[("scan_id", "scans", "id")],
    )


@migrations()
def m016_seen_tables(db: Database) -> None:
    """`last_seen` and `last_scan_id` of drifts and resources in narrow side tables.

    Every scan moves them on every record it finds, while the rest of a record (its
    changes, its snapshot hash) rarely changes: rewriting the wide rows for them was most
    of an unchanged scan's writes (bench/store_bench.py: 57 MB of WAL for 100,000 drifts
    and resources). Reads join them by key. Rows are kept in the order records were
    first seen (an integer primary key, the key unique beside it), not in key order: the
    records a scan finds are then stored together even among a long history of resolved
    ones, whose fingerprints (hashes) would otherwise spread them over every page (a
    micro-benchmark: 30,000 open among 330,000 rows wrote 21.7 MB keyed by fingerprint,
    2.4 MB this way). A record's seen row goes when the record goes (triggers).
    """
    for table, key, seen in (
        ("drifts", "fingerprint", "drift_seen"),
        ("resources", "key", "resource_seen"),
    ):
        db.execute(
            f"CREATE TABLE {seen} (id INTEGER PRIMARY KEY, {key} TEXT NOT NULL UNIQUE, "
            "last_seen TEXT, last_scan_id INTEGER)"
        )
        db.execute(
            f"INSERT INTO {seen} ({key}, last_seen, last_scan_id) "
            f"SELECT {key}, last_seen, last_scan_id FROM {table} "
            "WHERE last_seen IS NOT NULL OR last_scan_id IS NOT NULL ORDER BY rowid"
        )
        for column in ("last_seen", "last_scan_id"):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute(
            f"CREATE TRIGGER {seen}_delete AFTER DELETE ON {table} "
            f"BEGIN DELETE FROM {seen} WHERE {key} = old.{key}; END"
        )


# One search row per drift. The trigram table has its own stable rowids (a VACUUM may
# renumber the rowids of `drifts`, which has a text primary key), so a key table maps a
# fingerprint to its search row: a delete (prune) is two primary-key probes.
_DRIFT_SEARCH_ADD = """
    INSERT INTO drift_search_keys (fingerprint) VALUES (new.fingerprint);
    INSERT INTO drift_search (rowid, resource_id) VALUES (last_insert_rowid(), new.resource_id);
"""
_DRIFT_SEARCH_DROP = """
    DELETE FROM drift_search WHERE rowid =
        (SELECT id FROM drift_search_keys WHERE fingerprint = old.fingerprint);
    DELETE FROM drift_search_keys WHERE fingerprint = old.fingerprint;
"""


@migrations()
def m017_drift_search(db: Database) -> None:
    """A trigram index over drifts' resource ids for the drift list's free text (`q=`),
    kept in sync by triggers; an unchanged scan (no insert, no id change) fires none."""
    for statement in (
        "CREATE TABLE drift_search_keys (id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL UNIQUE)",
        "CREATE VIRTUAL TABLE drift_search USING fts5(resource_id, tokenize='trigram')",
        f"CREATE TRIGGER drift_search_insert AFTER INSERT ON drifts BEGIN {_DRIFT_SEARCH_ADD} END",
        f"CREATE TRIGGER drift_search_delete AFTER DELETE ON drifts BEGIN {_DRIFT_SEARCH_DROP} END",
        "CREATE TRIGGER drift_search_update AFTER UPDATE OF fingerprint, resource_id ON drifts "
        f"BEGIN {_DRIFT_SEARCH_DROP} {_DRIFT_SEARCH_ADD} END",
        "INSERT INTO drift_search_keys (fingerprint) SELECT fingerprint FROM drifts",
        "INSERT INTO drift_search (rowid, resource_id) SELECT k.id, d.resource_id "
        "FROM drift_search_keys k JOIN drifts d ON d.fingerprint = k.fingerprint",
    ):
        db.execute(statement)


# m018's triggers: the key table also holds the resource id.
_DRIFT_SEARCH_ADD_ID = """
    INSERT INTO drift_search_keys (fingerprint, resource_id)
        VALUES (new.fingerprint, new.resource_id);
    INSERT INTO drift_search (rowid, resource_id) VALUES (last_insert_rowid(), new.resource_id);
"""


@migrations()
def m018_drift_search_ids(db: Database) -> None:
    """The search key table holds each drift's resource id too: free text checks a
    candidate of the trigram index there, before its lookup in drifts (reading the id
    from the FTS5 table's own content costs about eight times more)."""
    db.execute("ALTER TABLE drift_search_keys ADD COLUMN resource_id TEXT")
    db.execute(
        "UPDATE drift_search_keys SET resource_id = "
        "(SELECT d.resource_id FROM drifts d WHERE d.fingerprint = drift_search_keys.fingerprint)"
    )
    for statement in (
        "DROP TRIGGER drift_search_insert",
        "DROP TRIGGER drift_search_update",
        "CREATE TRIGGER drift_search_insert AFTER INSERT ON drifts "
        f"BEGIN {_DRIFT_SEARCH_ADD_ID} END",
        "CREATE TRIGGER drift_search_update AFTER UPDATE OF fingerprint, resource_id ON drifts "
        f"BEGIN {_DRIFT_SEARCH_DROP} {_DRIFT_SEARCH_ADD_ID} END",
    ):
        db.execute(statement)
