"""Remediation records: plan → (approve) → execute → verify, each step a row update and an
audit entry, in the caller's one transaction (Store wraps these in `db.atomic()`)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from driftwatch.lifecycle import EV_RESOLVED, OPEN_STATUSES, RESOLVED
from driftwatch.store.actions import ActionError, Actor, add_event, audit

PLANNED, APPROVED, EXECUTING = "planned", "approved", "executing"
SUCCEEDED, PARTIAL, FAILED = "succeeded", "partial", "failed"
REFUSED, INTERRUPTED = "refused", "interrupted"
FINISHED = (SUCCEEDED, PARTIAL, FAILED, REFUSED, INTERRUPTED)
EXPIRED = "expired"  # shown, never stored: a planned row past its `expires_at`
EV_REMEDIATION = "remediation"

_JSON = ("options", "plan", "result")


def decode(row: dict[str, Any] | None, now: str | None = None) -> dict[str, Any] | None:
    """A row with its JSON columns parsed; with `now`, a lapsed plan reads `expired`."""
    if row is None:
        return None
    out = dict(row)
    for key in _JSON:
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    if now and out["status"] in (PLANNED, APPROVED) and out["expires_at"] <= now:
        out["status"] = EXPIRED
    return out


def _row(conn: sqlite3.Connection, rid: int) -> dict[str, Any]:
    cur = conn.execute("SELECT * FROM remediations WHERE id = ?", [rid])
    names = [d[0] for d in cur.description]
    found = cur.fetchone()
    if found is None:
        raise ActionError(f"no remediation #{rid}", status=404)
    out = decode(dict(zip(names, found, strict=True)))
    assert out is not None
    return out


def get(conn: sqlite3.Connection, rid: int) -> dict[str, Any] | None:
    try:
        return _row(conn, rid)
    except ActionError:
        return None


def of_drift(conn: sqlite3.Connection, fp: str, limit: int = 20) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT * FROM remediations WHERE fingerprint = ? ORDER BY id DESC LIMIT ?", [fp, limit]
    )
    names = [d[0] for d in cur.description]
    return [decode(dict(zip(names, r, strict=True))) or {} for r in cur.fetchall()]


def create(
    conn: sqlite3.Connection,
    at: str,
    actor: Actor,
    *,
    fingerprint: str,
    resource_key: str,
    mode: str,
    options: list[str],
    plan: dict[str, Any],
    plan_hash: str,
    live_hash: str,
    expires_at: str,
    auto: bool = False,
) -> int:
    """A new plan (nothing changed anywhere yet); audited with its summary."""
    cur = conn.execute(
        "INSERT INTO remediations (fingerprint, resource_key, mode, options, status, plan, "
        "plan_hash, live_hash, requested_by, requested_at, expires_at, auto) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            fingerprint,
            resource_key,
            mode,
            json.dumps(options),
            PLANNED,
            json.dumps(plan, sort_keys=True),
            plan_hash,
            live_hash,
            actor.name,
            at,
            expires_at,
            int(auto),
        ],
    )
    rid = int(cur.lastrowid or 0)
    audit(conn, at, actor, "remediation.plan", fingerprint, f"#{rid} {mode}: {plan['summary']}")
    return rid


def approve(conn: sqlite3.Connection, rid: int, actor: Actor, at: str) -> None:
    """A second person agrees; the requester never approves their own plan."""
    row = _row(conn, rid)
    if row["status"] != PLANNED:
        raise ActionError(f"remediation #{rid} is {row['status']}; only a plan can be approved")
    if row["expires_at"] <= at:
        raise ActionError(f"remediation #{rid} expired at {row['expires_at']}; plan it again")
    if row["requested_by"] == actor.name:
        raise ActionError(
            f"remediation #{rid} was requested by {actor.name}; a second person must approve it",
            status=403,
        )
    conn.execute(
        "UPDATE remediations SET status = ?, approved_by = ?, approved_at = ? WHERE id = ?",
        [APPROVED, actor.name, at, rid],
    )
    audit(conn, at, actor, "remediation.approve", row["fingerprint"], f"#{rid}")


def claim(
    conn: sqlite3.Connection, rid: int, actor: Actor, at: str, require_approval: bool
) -> dict[str, Any]:
    """planned/approved → executing, taking the resource's lock; raises when it may not run.

    Called while holding the data directory's lock, so an `executing` row of the same
    resource found here belongs to a process that died mid-execution: it is marked
    interrupted (its calls may or may not have run; the next scan tells).
    """
    row = _row(conn, rid)
    if row["status"] not in (PLANNED, APPROVED):
        raise ActionError(f"remediation #{rid} is {row['status']}; it cannot run again")
    if row["expires_at"] <= at:
        raise ActionError(f"remediation #{rid} expired at {row['expires_at']}; plan it again")
    if require_approval and row["status"] != APPROVED:
        raise ActionError(
            f"remediation #{rid} needs approval by a second person before it runs", status=403
        )
    conn.execute(
        "UPDATE remediations SET status = ?, result = ? "
        "WHERE resource_key = ? AND status = ? AND id != ?",
        [
            INTERRUPTED,
            json.dumps({"error": "the process running it stopped mid-execution"}),
            row["resource_key"],
            EXECUTING,
            rid,
        ],
    )
    try:
        conn.execute(
            "UPDATE remediations SET status = ?, executed_by = ?, executed_at = ? WHERE id = ?",
            [EXECUTING, actor.name, at, rid],
        )
    except sqlite3.IntegrityError:
        raise ActionError(
            f"another remediation of {row['resource_key']} is running; wait for it"
        ) from None
    audit(conn, at, actor, "remediation.execute", row["fingerprint"], f"#{rid} {row['mode']}")
    row["status"] = EXECUTING
    return row


def finish(
    conn: sqlite3.Connection,
    rid: int,
    actor: Actor,
    at: str,
    status: str,
    result: dict[str, Any],
    *,
    resolve: bool = False,
) -> None:
    """The outcome: a drift event either way; a verified revert resolves the drift."""
    row = _row(conn, rid)
    conn.execute(
        "UPDATE remediations SET status = ?, finished_at = ?, result = ? WHERE id = ?",
        [status, at, json.dumps(result, sort_keys=True), rid],
    )
    fp, said = row["fingerprint"], f"#{rid} {row['mode']}: {status}. {result.get('summary', '')}"
    audit(conn, at, actor, f"remediation.{status}", fp, said.strip())
    reason = f"remediated: #{rid} {row['mode']} verified"
    if resolve and _resolve(conn, fp, at, reason):
        add_event(conn, fp, at, EV_RESOLVED, actor.name, reason)
    else:
        add_event(conn, fp, at, EV_REMEDIATION, actor.name, said.strip())


def refuse(conn: sqlite3.Connection, rid: int, actor: Actor, at: str, why: str) -> None:
    """Execution refused before any call (stale plan, changed declaration): nothing ran."""
    row = _row(conn, rid)
    conn.execute(
        "UPDATE remediations SET status = ?, finished_at = ?, result = ? WHERE id = ?",
        [REFUSED, at, json.dumps({"error": why, "summary": why}), rid],
    )
    audit(conn, at, actor, "remediation.refused", row["fingerprint"], f"#{rid}: {why}")


def note(conn: sqlite3.Connection, fp: str, actor: Actor, at: str, text: str) -> None:
    """A remediation step worth a line on the drift's timeline (e.g. a branch pushed)."""
    add_event(conn, fp, at, EV_REMEDIATION, actor.name, text)


def _resolve(conn: sqlite3.Connection, fp: str, at: str, reason: str) -> bool:
    marks = ",".join("?" * len(OPEN_STATUSES))
    cur = conn.execute(
        f"UPDATE drifts SET status = ?, resolved_at = ?, resolved_reason = ? "
        f"WHERE fingerprint = ? AND status IN ({marks})",
        [RESOLVED, at, reason, fp, *OPEN_STATUSES],
    )
    return cur.rowcount == 1


def auto_history(conn: sqlite3.Connection, limit: int) -> list[tuple[int, str, str, bool]]:
    """(id, status, requested_at, auto) of the latest auto-remediations and of every
    succeeded one (a person's success resets the breaker), newest first."""
    rows = conn.execute(
        "SELECT id, status, requested_at, auto FROM remediations "
        "WHERE auto = 1 OR status = ? ORDER BY id DESC LIMIT ?",
        [SUCCEEDED, limit],
    )
    return [(int(i), str(s), str(at), bool(a)) for i, s, at, a in rows]


def meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
