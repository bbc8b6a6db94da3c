"""People's actions on drift records (acknowledge, un-acknowledge) and the audit log.

Each action writes the record, a drift event naming who, and an audit row, in the
caller's one transaction (Store wraps these in `db.atomic()`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from driftwatch.lifecycle import (
    ACKNOWLEDGED,
    EV_ACKNOWLEDGED,
    EV_UNACKNOWLEDGED,
    OPEN,
    SNOOZE_ENDED,
    snooze_over,
)

SYSTEM_ACTOR = "driftwatch"


@dataclass(frozen=True)
class Actor:
    """Who did something, and from where (`ip` is None on the command line)."""

    name: str
    ip: str | None = None


class ActionError(Exception):
    """An action that does not apply to the record as it is (the web answers 404/409)."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def audit(
    conn: sqlite3.Connection, at: str, actor: Actor, action: str, target: str, detail: str = ""
) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, actor, ip, action, target, detail) VALUES (?,?,?,?,?,?)",
        [at, actor.name, actor.ip, action, target, detail],
    )


def add_event(
    conn: sqlite3.Connection, fp: str, at: str, event: str, actor: str, reason: str | None
) -> None:
    conn.execute(
        "INSERT INTO drift_events (fingerprint, scan_id, at, event, reason, actor) "
        "VALUES (?, NULL, ?, ?, ?, ?)",
        [fp, at, event, reason, actor],
    )


def _status(conn: sqlite3.Connection, fp: str) -> str:
    row = conn.execute("SELECT status FROM drifts WHERE fingerprint = ?", [fp]).fetchone()
    if row is None:
        raise ActionError(f"no drift with id {fp}", status=404)
    return str(row[0])


def acknowledge(
    conn: sqlite3.Connection, fp: str, actor: Actor, at: str, reason: str, until: str | None
) -> None:
    """Open → acknowledged (re-acknowledging updates the reason and date)."""
    status = _status(conn, fp)
    if status not in (OPEN, ACKNOWLEDGED):
        raise ActionError(f"drift {fp} is {status}; only an open drift can be acknowledged")
    conn.execute(
        "UPDATE drifts SET status = ?, ack_by = ?, ack_at = ?, ack_reason = ?, ack_until = ? "
        "WHERE fingerprint = ?",
        [ACKNOWLEDGED, actor.name, at, reason, until, fp],
    )
    said = f"{reason} (until {until})" if until else reason
    add_event(conn, fp, at, EV_ACKNOWLEDGED, actor.name, said)
    audit(conn, at, actor, "acknowledge", fp, said)


def unacknowledge(conn: sqlite3.Connection, fp: str, actor: Actor, at: str) -> None:
    """Acknowledged → open."""
    status = _status(conn, fp)
    if status != ACKNOWLEDGED:
        raise ActionError(f"drift {fp} is {status}, not acknowledged")
    _reopen(conn, fp)
    add_event(conn, fp, at, EV_UNACKNOWLEDGED, actor.name, None)
    audit(conn, at, actor, "unacknowledge", fp)


def _reopen(conn: sqlite3.Connection, fp: str) -> None:
    conn.execute(
        "UPDATE drifts SET status = ?, ack_by = NULL, ack_at = NULL, ack_reason = NULL, "
        "ack_until = NULL WHERE fingerprint = ?",
        [OPEN, fp],
    )


def expire_snoozes(conn: sqlite3.Connection, now: str, scan_id: int | None = None) -> int:
    """Acknowledgements whose until-date has passed end: the drift is open again."""
    rows = conn.execute(
        "SELECT fingerprint, ack_until FROM drifts WHERE status = ? AND ack_until IS NOT NULL",
        [ACKNOWLEDGED],
    ).fetchall()
    ended = [(fp, until) for fp, until in rows if snooze_over(until, now)]
    for fp, until in ended:
        _reopen(conn, fp)
        conn.execute(
            "INSERT INTO drift_events (fingerprint, scan_id, at, event, reason, actor) "
            "VALUES (?,?,?,?,?,?)",
            [fp, scan_id, now, EV_UNACKNOWLEDGED, SNOOZE_ENDED.format(until=until), SYSTEM_ACTOR],
        )
    return len(ended)
