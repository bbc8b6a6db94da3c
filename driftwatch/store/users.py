"""Users, API tokens, dashboard sessions and login failures (SQL only; hashing lives in
driftwatch.users)."""

from __future__ import annotations

import sqlite3
from typing import Any

from driftwatch.store.actions import Actor, audit


def _one(cur: sqlite3.Cursor) -> dict[str, Any] | None:
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cur.description], row, strict=True))


def _all(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def user_by_name(conn: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    return _one(conn.execute("SELECT * FROM users WHERE name = ?", [name]))


def user_by_id(conn: sqlite3.Connection, user_id: int) -> dict[str, Any] | None:
    return _one(conn.execute("SELECT * FROM users WHERE id = ?", [user_id]))


def list_users(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return _all(conn.execute("SELECT id, name, role, created_at FROM users ORDER BY name"))


def upsert_user(
    conn: sqlite3.Connection, name: str, password_hash: str, role: str, at: str, actor: Actor
) -> bool:
    """Add a user, or set an existing one's password and role; True when added."""
    existing = user_by_name(conn, name)
    if existing is None:
        conn.execute(
            "INSERT INTO users (name, password_hash, role, created_at) VALUES (?,?,?,?)",
            [name, password_hash, role, at],
        )
    else:
        conn.execute(
            "UPDATE users SET password_hash = ?, role = ? WHERE id = ?",
            [password_hash, role, existing["id"]],
        )
    audit(conn, at, actor, "user add" if existing is None else "user update", name, role)
    return existing is None


def add_token(
    conn: sqlite3.Connection,
    user_id: int,
    name: str,
    scope: str,
    digest: str,
    prefix: str,
    at: str,
    actor: Actor,
) -> int:
    cur = conn.execute(
        "INSERT INTO api_tokens (user_id, name, scope, token_hash, prefix, created_at) "
        "VALUES (?,?,?,?,?,?)",
        [user_id, name, scope, digest, prefix, at],
    )
    token_id = int(cur.lastrowid or 0)
    audit(conn, at, actor, "token create", f"token {token_id}", f"{scope} token {name!r}")
    return token_id


def token_by_hash(conn: sqlite3.Connection, digest: str) -> dict[str, Any] | None:
    """A live token and its user's name and role."""
    return _one(
        conn.execute(
            "SELECT t.id, t.scope, t.user_id, t.last_used_at, u.name AS user_name, u.role "
            "FROM api_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = ? AND t.revoked_at IS NULL",
            [digest],
        )
    )


def touch_token(conn: sqlite3.Connection, token_id: int, at: str) -> None:
    conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [at, token_id])


def list_tokens(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return _all(
        conn.execute(
            "SELECT t.id, t.name, t.scope, t.prefix, t.created_at, t.last_used_at, "
            "t.revoked_at, u.name AS user_name FROM api_tokens t "
            "JOIN users u ON u.id = t.user_id ORDER BY t.id DESC"
        )
    )


def revoke_token(conn: sqlite3.Connection, token_id: int, at: str, actor: Actor) -> bool:
    cur = conn.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        [at, token_id],
    )
    if cur.rowcount:
        audit(conn, at, actor, "token revoke", f"token {token_id}")
    return bool(cur.rowcount)


def login_attempts(
    conn: sqlite3.Connection, since: str, name: str, ip: str, stale_before: str
) -> tuple[int, int]:
    """(failures, failures and attempts in flight) since `since`, each the larger of the
    counts for this name and for this address. An attempt still pending at
    `stale_before` counts as a failure (its process died mid-check)."""
    row = conn.execute(
        "SELECT coalesce(sum(name = ? AND settled), 0), coalesce(sum(ip = ? AND settled), 0), "
        "coalesce(sum(name = ?), 0), coalesce(sum(ip = ?), 0) FROM ("
        "  SELECT name, ip, (coalesce(pending, 0) = 0 OR at < ?) AS settled"
        "  FROM login_failures WHERE at >= ?)",
        [name, ip, name, ip, stale_before, since],
    ).fetchone()
    return max(int(row[0]), int(row[1])), max(int(row[2]), int(row[3]))


def add_login_attempt(conn: sqlite3.Connection, at: str, name: str, ip: str) -> int:
    """An attempt in flight: pending until its password check settles it."""
    cur = conn.execute(
        "INSERT INTO login_failures (at, name, ip, pending) VALUES (?,?,?,1)", [at, name, ip]
    )
    # Only the last minutes matter; keep the table small.
    conn.execute(
        "DELETE FROM login_failures WHERE at < strftime('%Y-%m-%dT%H:%M:%SZ', ?, '-1 hour')",
        [at],
    )
    return int(cur.lastrowid or 0)


def settle_login_failure(conn: sqlite3.Connection, attempt_id: int) -> None:
    conn.execute("UPDATE login_failures SET pending = 0 WHERE id = ?", [attempt_id])


def start_session(
    conn: sqlite3.Connection, attempt_id: int, user_id: int, digest: str, at: str, ip: str
) -> None:
    """A successful login: its reserved failure is withdrawn and a session row made."""
    conn.execute("DELETE FROM login_failures WHERE id = ?", [attempt_id])
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, ip) VALUES (?,?,?,?)",
        [digest, user_id, at, ip],
    )


def session_user(conn: sqlite3.Connection, digest: str, since: str) -> dict[str, Any] | None:
    """The user of a live session (made at or after `since`), or None."""
    return _one(
        conn.execute(
            "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = ? AND s.created_at >= ?",
            [digest, since],
        )
    )


def end_session(conn: sqlite3.Connection, digest: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_hash = ?", [digest])


def prune_sessions(conn: sqlite3.Connection, before: str) -> None:
    conn.execute("DELETE FROM sessions WHERE created_at < ?", [before])
