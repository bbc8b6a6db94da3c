"""The alerts outbox: digests written in the scan's transaction, delivered by the leader."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any

from driftwatch.alerts import Digest
from driftwatch.lifecycle import to_json

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
