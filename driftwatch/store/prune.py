"""Retention: remove history older than a cutoff, never an open drift, current state or
a message still to be sent.

Each table's rule is one predicate, used both to count (dry run) and to delete, in an
order where no predicate depends on rows an earlier step removed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields

from driftwatch.lifecycle import OPEN_STATUSES, RESOLVED

_OPEN = "(" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"
_OLD_RESOURCE = f"""(SELECT last_seen FROM resource_seen s WHERE s.key = resources.key) < :cutoff
    AND NOT EXISTS (
    SELECT 1 FROM drifts d WHERE d.status IN {_OPEN} AND d.type = resources.type
    AND d.resource_id = resources.resource_id AND d.account = resources.account
    AND d.region = resources.region)"""
_OLD_SCAN = f"""started_at < :cutoff
    AND id != (SELECT max(id) FROM scans)
    AND id NOT IN (SELECT max(id) FROM scans WHERE status IN ('ok', 'partial'))
    AND id NOT IN (SELECT opened_scan_id FROM drifts
                   WHERE status IN {_OPEN} AND opened_scan_id IS NOT NULL)"""

# A delivered or failed message, by when it was sent (or queued); never a pending one.
_OLD_MESSAGE = "status IN ('sent', 'failed') AND coalesce(sent_at, created_at) < :cutoff"

# (table, predicate), in deletion order.
_RULES = (
    # An event's dedup record goes with its message: a pruned event id never recurs
    # (each transition is a new event), so nothing can be announced twice.
    ("alert_items", f"outbox_id IN (SELECT id FROM outbox WHERE {_OLD_MESSAGE})"),
    ("outbox", _OLD_MESSAGE),
    (
        "drift_events",
        f"at < :cutoff AND fingerprint NOT IN "
        f"(SELECT fingerprint FROM drifts WHERE status IN {_OPEN})",
    ),
    ("drifts", f"status = '{RESOLVED}' AND resolved_at < :cutoff"),
    (
        "snapshots",
        f"""key IN (SELECT key FROM resources WHERE {_OLD_RESOURCE})
        OR (at < :cutoff
            AND id NOT IN (SELECT max(id) FROM snapshots GROUP BY key)
            AND id NOT IN (SELECT max(id) FROM snapshots WHERE snapshot IS NOT NULL
                           GROUP BY key))""",
    ),
    ("resources", _OLD_RESOURCE),
    ("scope_errors", f"scan_id IN (SELECT id FROM scans WHERE {_OLD_SCAN})"),
    ("ignore_rules", f"scan_id IN (SELECT id FROM scans WHERE {_OLD_SCAN})"),
    ("ignore_hits", f"scan_id IN (SELECT id FROM scans WHERE {_OLD_SCAN})"),
    ("terraform_states", f"scan_id IN (SELECT id FROM scans WHERE {_OLD_SCAN})"),
    ("scans", _OLD_SCAN),
)


@dataclass(frozen=True)
class PruneCounts:
    """Rows removed (or, in a dry run, that would be) per table."""

    alert_items: int = 0
    outbox: int = 0
    drift_events: int = 0
    drifts: int = 0
    snapshots: int = 0
    resources: int = 0
    scope_errors: int = 0
    ignore_rules: int = 0
    ignore_hits: int = 0
    terraform_states: int = 0
    scans: int = 0

    def __str__(self) -> str:
        return ", ".join(
            f"{getattr(self, f.name)} {f.name.replace('_', ' ')}" for f in fields(self)
        )

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


def prune(conn: sqlite3.Connection, cutoff: str, dry_run: bool) -> PruneCounts:
    """Count (dry run) or delete, table by table; the caller owns the transaction."""
    counts: dict[str, int] = {}
    params = {"cutoff": cutoff}
    for table, where in _RULES:
        if dry_run:
            counts[table] = conn.execute(
                f"SELECT count(*) FROM {table} WHERE {where}", params
            ).fetchone()[0]
        else:
            counts[table] = conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
    return PruneCounts(**counts)
