"""The scheduler's leader lease: one row (holder, epoch, expiry) and fencing by epoch.

A holder renews before expiry. Anyone may take an expired lease, and taking it raises
the epoch: every write a leader makes checks, inside its own transaction, that the
epoch is still its own, so a leader that was frozen past its lease and resumes cannot
start or persist a scan after another process took over.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from driftwatch.errors import DriftwatchError

SCHEDULER = "scheduler"


class FencedError(DriftwatchError):
    """This process no longer holds the lease it acted under."""


@dataclass(frozen=True)
class Fence:
    """Who a write is made for: the lease's holder at an epoch."""

    holder: str
    epoch: int
    name: str = SCHEDULER


def acquire(
    conn: sqlite3.Connection, name: str, holder: str, now: float, ttl_s: float
) -> int | None:
    """Take the lease when free or expired, or extend our own: the epoch, or None.

    The caller runs this in a write transaction (BEGIN IMMEDIATE).
    """
    row = conn.execute(
        "SELECT holder, epoch, expires_at FROM leases WHERE name = ?", [name]
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO leases (name, holder, epoch, expires_at, acquired_at) "
            "VALUES (?, ?, 1, ?, datetime('now'))",
            [name, holder, now + ttl_s],
        )
        return 1
    held_by, epoch, expires_at = row
    if held_by == holder:
        conn.execute("UPDATE leases SET expires_at = ? WHERE name = ?", [now + ttl_s, name])
        return int(epoch)
    if expires_at > now:
        return None
    conn.execute(
        "UPDATE leases SET holder = ?, epoch = epoch + 1, expires_at = ?, "
        "acquired_at = datetime('now') WHERE name = ?",
        [holder, now + ttl_s, name],
    )
    return int(epoch) + 1


def renew(conn: sqlite3.Connection, fence: Fence, now: float, ttl_s: float) -> bool:
    """Extend our lease if nobody took it meanwhile (the epoch is unchanged)."""
    cur = conn.execute(
        "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND epoch = ?",
        [now + ttl_s, fence.name, fence.holder, fence.epoch],
    )
    return cur.rowcount == 1


def release(conn: sqlite3.Connection, fence: Fence) -> None:
    """Let a standby take over at once (graceful shutdown)."""
    conn.execute(
        "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND epoch = ?",
        [fence.name, fence.holder, fence.epoch],
    )


def check(conn: sqlite3.Connection, fence: Fence | None) -> None:
    """Raise FencedError unless the lease is still ours; call inside the write transaction."""
    if fence is None:
        return
    row = conn.execute("SELECT holder, epoch FROM leases WHERE name = ?", [fence.name]).fetchone()
    if row is None or (row[0], row[1]) != (fence.holder, fence.epoch):
        now_held = f"{row[0]} at epoch {row[1]}" if row else "nobody"
        raise FencedError(
            f"lease {fence.name!r} lost: held by {now_held}, not {fence.holder} at epoch "
            f"{fence.epoch}; this process stops acting as leader"
        )
