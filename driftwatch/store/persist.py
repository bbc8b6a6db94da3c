"""Persisting one scan, set-based: a handful of statements however many findings there are.

Callers run `persist_scan` inside one transaction (Store.persist_scan). Only open
drifts, and resolved ones this scan finds again, are loaded; unchanged records are
touched by one UPDATE; snapshots are written only when a resource's state changes.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from driftwatch.lifecycle import (
    ACKNOWLEDGED,
    NEW,
    OPEN,
    OPEN_STATUSES,
    REOPENED,
    RESOLVED,
    UNCHANGED,
    Coverage,
    LifecyclePlan,
    StoredDrift,
    plan_lifecycle,
    text_hash,
    to_json,
)
from driftwatch.models import Finding, Kind, ScopeError
from driftwatch.store.actions import expire_snoozes

_COUNTED = ("in_sync", "modified", "missing", "unmanaged", "not_checked")


def resource_key(account: str, region: str, rtype: str, rid: str) -> str:
    return "/".join((account, region, rtype, rid))


@dataclass
class ScanWrite:
    """Everything a finished scan writes."""

    scan_id: int
    finished_at: str
    status: str
    commit_sha: str | None
    findings: Sequence[Finding]
    errors: Sequence[ScopeError]
    coverage: Coverage
    reopen_window: dt.timedelta
    declared: int
    api_calls: int = 0
    duration_s: float = 0.0


def persist_scan(conn: sqlite3.Connection, w: ScanWrite) -> LifecyclePlan:
    _update_scan(conn, w)  # a write first: the transaction holds the write lock from here
    expire_snoozes(conn, w.finished_at, w.scan_id)
    _write_errors(conn, w)
    _write_resources(conn, w)
    plan = _write_lifecycle(conn, w)
    conn.execute(_COUNT_OPEN, [OPEN, ACKNOWLEDGED, w.scan_id])
    return plan


_COUNT_OPEN = """
UPDATE scans SET
    open_drifts = (SELECT count(*) FROM drifts WHERE status = ?1),
    acknowledged_drifts = (SELECT count(*) FROM drifts WHERE status = ?2)
WHERE id = ?3
"""


def _update_scan(conn: sqlite3.Connection, w: ScanWrite) -> None:
    counts = {k: 0 for k in _COUNTED}
    for f in w.findings:
        counts[f.kind.value] += 1
    conn.execute(
        "UPDATE scans SET finished_at = ?, status = ?, commit_sha = ?, duration_s = ?, "
        "api_calls = ?, declared = ?, error = NULL, "
        + ", ".join(f"{k} = ?" for k in _COUNTED)
        + " WHERE id = ?",
        [
            w.finished_at,
            w.status,
            w.commit_sha,
            w.duration_s,
            w.api_calls,
            w.declared,
            *counts.values(),
            w.scan_id,
        ],
    )


def _write_errors(conn: sqlite3.Connection, w: ScanWrite) -> None:
    conn.executemany(
        "INSERT INTO scope_errors (scan_id, account, region, type, resource_id, error, internal) "
        "VALUES (?,?,?,?,?,?,?)",
        ((w.scan_id, *_scope(e), e.resource_id, e.error, int(e.internal)) for e in w.errors),
    )


def _scope(e: ScopeError) -> tuple[str, str, str]:
    return (e.scope.account, e.scope.region, e.scope.type)


_RES_TEMP = """
CREATE TEMP TABLE IF NOT EXISTS scan_resources (
    key TEXT, account TEXT, region TEXT, type TEXT, resource_id TEXT,
    kind TEXT, source TEXT, reason TEXT, live_id TEXT, hash TEXT, snapshot TEXT
)"""

# A snapshot row when a resource is new, changes kind, or its content changes. A
# not-checked resource records the kind change only: its last snapshot read stays.
_NEW_SNAPSHOTS = """
INSERT INTO snapshots (key, scan_id, at, kind, hash, snapshot)
SELECT t.key, :scan, :at, t.kind, t.hash, t.snapshot
FROM scan_resources t LEFT JOIN resources r ON r.key = t.key
WHERE r.key IS NULL OR r.kind IS NOT t.kind
   OR (t.kind != 'not_checked' AND r.snapshot_hash IS NOT t.hash)
"""

_UPSERT_RESOURCES = """
INSERT INTO resources (key, account, region, type, resource_id, live_id, kind, source, reason,
                       last_scan_id, snapshot_hash, first_seen, last_seen)
SELECT key, account, region, type, resource_id, live_id, kind, source, reason,
       :scan, hash, :at, :at
FROM scan_resources WHERE true
ON CONFLICT (key) DO UPDATE SET
    kind = excluded.kind, source = excluded.source, reason = excluded.reason,
    last_scan_id = excluded.last_scan_id, last_seen = excluded.last_seen,
    live_id = CASE WHEN excluded.kind = 'not_checked' THEN resources.live_id
                   ELSE excluded.live_id END,
    snapshot_hash = CASE WHEN excluded.kind = 'not_checked' THEN resources.snapshot_hash
                         ELSE excluded.snapshot_hash END
"""


def _write_resources(conn: sqlite3.Connection, w: ScanWrite) -> None:
    conn.execute(_RES_TEMP)
    conn.execute("DELETE FROM scan_resources")
    conn.executemany(
        "INSERT INTO scan_resources VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        _resource_rows(w.findings),
    )
    params = {"scan": w.scan_id, "at": w.finished_at}
    conn.execute(_NEW_SNAPSHOTS, params)
    conn.execute(_UPSERT_RESOURCES, params)
    conn.execute("DELETE FROM scan_resources")


def _resource_rows(findings: Sequence[Finding]) -> Iterator[tuple[Any, ...]]:
    for f in findings:
        if f.kind == Kind.NOT_CHECKED:
            live_id = snapshot = digest = None
        else:
            live_id = f.live_id
            snapshot = to_json(f.snapshot)
            digest = text_hash(snapshot)
        key = resource_key(f.account, f.region, f.type, f.id)
        yield (
            key,
            f.account,
            f.region,
            f.type,
            f.id,
            f.kind.value,
            f.source,
            f.reason,
            live_id,
            digest,
            snapshot,
        )


# Temporary tables without keys: rows are unique by construction, and an index would
# only cost time; every join probes the permanent table's primary key.
_FP_TEMP = "CREATE TEMP TABLE IF NOT EXISTS scan_drifts (fingerprint TEXT, source TEXT)"
_STORED_COLUMNS = (
    "d.fingerprint, d.account, d.region, d.type, d.resource_id, d.kind, d.status, "
    "d.changes_hash, d.first_seen, d.resolved_at"
)
_OPEN = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
_LOAD_STORED = f"""
SELECT {_STORED_COLUMNS} FROM drifts d WHERE d.status IN ({_OPEN})
UNION ALL
SELECT {_STORED_COLUMNS} FROM drifts d JOIN scan_drifts t ON t.fingerprint = d.fingerprint
WHERE d.status = '{RESOLVED}'
"""
_UPSERT_DRIFT = f"""
INSERT INTO drifts (fingerprint, account, region, type, resource_id, kind, status, source,
                    changes, changes_hash, first_seen, last_seen, opened_scan_id, last_scan_id)
VALUES (?,?,?,?,?,?,'{OPEN}',?,?,?,?,?,?,?)
ON CONFLICT (fingerprint) DO UPDATE SET
    status = '{OPEN}', source = excluded.source, changes = excluded.changes,
    changes_hash = excluded.changes_hash, first_seen = excluded.first_seen,
    last_seen = excluded.last_seen, last_scan_id = excluded.last_scan_id,
    opened_scan_id = coalesce(excluded.opened_scan_id, drifts.opened_scan_id),
    resolved_at = NULL, resolved_reason = NULL,
    ack_by = NULL, ack_at = NULL, ack_reason = NULL, ack_until = NULL
"""
_TOUCH_UNCHANGED = """
UPDATE drifts SET last_seen = :at, last_scan_id = :scan, source = t.source
FROM scan_drifts t WHERE drifts.fingerprint = t.fingerprint
"""
_RESOLVE = f"""
UPDATE drifts SET status = '{RESOLVED}', resolved_at = ?, resolved_reason = ?, last_scan_id = ?,
    ack_by = NULL, ack_at = NULL, ack_reason = NULL, ack_until = NULL
WHERE fingerprint = ?
"""


def _write_lifecycle(conn: sqlite3.Connection, w: ScanWrite) -> LifecyclePlan:
    conn.execute(_FP_TEMP)
    conn.execute("DELETE FROM scan_drifts")
    conn.executemany(
        "INSERT INTO scan_drifts VALUES (?, ?)",
        ((f.fingerprint, f.source) for f in w.findings if f.kind.is_drift),
    )
    make = StoredDrift._make
    stored = {row[0]: make(row) for row in conn.execute(_LOAD_STORED)}
    plan = plan_lifecycle(stored, w.findings, w.coverage, w.finished_at, w.reopen_window)
    conn.execute(_TOUCH_UNCHANGED, {"at": w.finished_at, "scan": w.scan_id})
    conn.executemany(
        _UPSERT_DRIFT,
        (
            (
                d.fingerprint,
                d.finding.account,
                d.finding.region,
                d.finding.type,
                d.finding.id,
                d.finding.kind.value,
                d.finding.source,
                d.changes,
                d.changes_hash,
                d.first_seen,
                w.finished_at,
                w.scan_id if d.transition in (NEW, REOPENED) else None,
                w.scan_id,
            )
            for d in plan.found
            if d.transition != UNCHANGED
        ),
    )
    conn.executemany(
        _RESOLVE,
        ((w.finished_at, r.reason, w.scan_id, r.drift.fingerprint) for r in plan.resolved),
    )
    conn.executemany(
        "INSERT INTO drift_events (fingerprint, scan_id, at, event, changes, reason) "
        "VALUES (?,?,?,?,?,?)",
        (
            (e.fingerprint, w.scan_id, w.finished_at, e.event, e.changes, e.reason)
            for e in plan.events
        ),
    )
    conn.execute("DELETE FROM scan_drifts")
    return plan


def decode(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its JSON columns parsed."""
    out = dict(row)
    for key in ("changes", "snapshot"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out
