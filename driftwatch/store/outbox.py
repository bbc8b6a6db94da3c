"""The alerts outbox: digests written in the scan's transaction, delivered by the leader."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any

from driftwatch.alerts import (
    EV_REMINDER,
    EV_SNOOZE_ENDED,
    AlertItem,
    Digest,
    OpenDrift,
    drift_link,
)
from driftwatch.lifecycle import EV_UNACKNOWLEDGED, parse_time, to_json
from driftwatch.store.actions import SYSTEM_ACTOR

PENDING, SENT, FAILED = "pending", "sent", "failed"


def new_delivery_id() -> str:
    return f"dw-{uuid.uuid4().hex}"


def enqueue(conn: sqlite3.Connection, digests: Sequence[Digest], now: str) -> list[int]:
    """Write digests as pending messages; an event already announced on a channel is
    dropped from its digest (dedup by fingerprint + event id, never by text)."""
    ids = []
    for d in digests:
        fresh = [
            i
            for i in d.items
            if conn.execute(
                "SELECT 1 FROM alert_items WHERE channel = ? AND fingerprint = ? AND event_id = ?",
                [d.channel, i.fingerprint, i.event_id],
            ).fetchone()
            is None
        ]
        if not fresh and d.notice is None and not d.test:
            continue
        d.items = fresh
        cur = conn.execute(
            "INSERT INTO outbox (delivery_id, channel, scan_id, kind, payload, status, attempts, "
            "next_attempt_at, created_at) VALUES (?,?,?,?,?,?,0,?,?) "
            "ON CONFLICT DO NOTHING",
            [
                new_delivery_id(),
                d.channel,
                d.scan.scan_id if d.scan else None,
                "test" if d.test else "digest",
                to_json(d.to_dict()),
                PENDING,
                now,
                now,
            ],
        )
        if not cur.rowcount:
            continue  # this scan's digest for this channel is already queued
        outbox_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT OR IGNORE INTO alert_items VALUES (?,?,?,?)",
            [(d.channel, i.fingerprint, i.event_id, outbox_id) for i in fresh],
        )
        ids.append(outbox_id)
    return ids


def due(conn: sqlite3.Connection, now: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, delivery_id, channel, payload, attempts FROM outbox "
        "WHERE status = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?",
        [PENDING, now, limit],
    )
    cols = [c[0] for c in rows.description]
    return [dict(zip(cols, r, strict=True)) for r in rows.fetchall()]


# --- follow-ups: reminders of drifts still open, and acknowledgements that ran out --------

_OPEN_DRIFTS = """
SELECT d.fingerprint, d.kind, d.type, d.resource_id, d.account, d.region, d.severity,
       d.changes, d.status,
       (SELECT MAX(e.id) FROM drift_events e WHERE e.fingerprint = d.fingerprint) AS event_id
FROM drifts d WHERE d.status IN ('open', 'acknowledged')
"""


def open_drifts(conn: sqlite3.Connection, base_url: str | None) -> list[OpenDrift]:
    """Every unresolved drift as a reminder would show it (its latest event's id)."""
    out = []
    for row in conn.execute(_OPEN_DRIFTS):
        fp, kind, rtype, rid, account, region, severity, changes, status, event_id = row
        item = AlertItem(
            fingerprint=fp,
            event_id=int(event_id or 0),
            event=EV_REMINDER,
            kind=kind,
            type=rtype,
            id=rid,
            account=account,
            region=region,
            severity=severity or "high",
            changes=json.loads(changes) if changes else [],
            link=drift_link(base_url, fp),
        )
        out.append(OpenDrift(item, acknowledged=status == "acknowledged"))
    return out


def last_said(conn: sqlite3.Connection, channel: str) -> dict[str, dt.datetime]:
    """fingerprint → when this channel was last told about it (announced or reminded)."""
    said: dict[str, dt.datetime] = {}
    rows = conn.execute(
        "SELECT ai.fingerprint, MAX(o.created_at) FROM alert_items ai "
        "JOIN outbox o ON o.id = ai.outbox_id WHERE ai.channel = ? GROUP BY ai.fingerprint "
        "UNION ALL SELECT fingerprint, at FROM reminders WHERE channel = ?",
        [channel, channel],
    )
    for fp, at in rows:
        when = parse_time(at)
        if fp not in said or when > said[fp]:
            said[fp] = when
    return said


def enqueue_reminder(conn: sqlite3.Connection, digest: Digest, now: str) -> int:
    """A reminder goes out whatever was announced before (that is its point)."""
    cur = conn.execute(
        "INSERT INTO outbox (delivery_id, channel, scan_id, kind, payload, status, attempts, "
        "next_attempt_at, created_at) VALUES (?,?,NULL,'reminder',?,?,0,?,?)",
        [new_delivery_id(), digest.channel, to_json(digest.to_dict()), PENDING, now, now],
    )
    conn.executemany(
        "INSERT INTO reminders (channel, fingerprint, at) VALUES (?,?,?) "
        "ON CONFLICT (channel, fingerprint) DO UPDATE SET at = excluded.at",
        [(digest.channel, i.fingerprint, now) for i in digest.items],
    )
    return int(cur.lastrowid or 0)


def snooze_end_items(
    conn: sqlite3.Connection, since: str, base_url: str | None
) -> list[AlertItem]:
    """Acknowledgements that ran out since `since`, as items (one per ending event)."""
    rows = conn.execute(
        "SELECT e.id, e.reason, d.fingerprint, d.kind, d.type, d.resource_id, d.account, "
        "d.region, d.severity, d.changes FROM drift_events e "
        "JOIN drifts d ON d.fingerprint = e.fingerprint "
        "WHERE e.event = ? AND e.actor = ? AND e.at >= ? ORDER BY e.id",
        [EV_UNACKNOWLEDGED, SYSTEM_ACTOR, since],
    )
    return [
        AlertItem(
            fingerprint=fp,
            event_id=int(eid),
            event=EV_SNOOZE_ENDED,
            kind=kind,
            type=rtype,
            id=rid,
            account=account,
            region=region,
            severity=severity or "high",
            changes=json.loads(changes) if changes else [],
            reason=reason,
            link=drift_link(base_url, fp),
        )
        for eid, reason, fp, kind, rtype, rid, account, region, severity, changes in rows
    ]
