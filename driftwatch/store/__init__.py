"""The SQLite store: the only package that writes SQL. One transaction per scan."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import gc
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from driftwatch.errors import StoreError
from driftwatch.filemodes import FILE_MODE
from driftwatch.lifecycle import OPEN, OPEN_STATUSES, RESOLVED
from driftwatch.store import actions, lease, outbox, remediations, users
from driftwatch.store.actions import ActionError, Actor
from driftwatch.store.lease import Fence, FencedError
from driftwatch.store.migrations import migrations
from driftwatch.store.persist import (
    ScanWrite,
    decode,
    persist_scan,
    resource_key,
)
from driftwatch.store.prune import PruneCounts, prune
from driftwatch.store.read import DRIFT_ROW, DRIFTS, RESOURCE_ROW, RESOURCES

if TYPE_CHECKING:
    from driftwatch.alerts import AlertSetup, Digest
    from driftwatch.config import ChannelConfig

__all__ = [
    "OPEN",
    "RESOLVED",
    "ActionError",
    "Actor",
    "Fence",
    "FencedError",
    "PruneCounts",
    "ScanWrite",
    "Store",
    "host_problem",
    "open_problem",
    "resource_key",
    "write_problem",
]

INTERRUPTED = "interrupted: the process running this scan ended before it finished"
ISO = "%Y-%m-%dT%H:%M:%SZ"
LOGIN_WAIT_S = 10.0  # longest wait for logins in flight before answering "throttled"
LOGIN_PENDING_S = 30  # a login still unsettled after this died mid-check: a failure


class Store:
    """A driftwatch database file (WAL mode, migrated on open)."""

    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        """Open (creating and migrating) the database; `migrate=False` opens one that a
        previous Store already migrated, e.g. per web request, without a schema check."""
        self.path = Path(path)
        deadline = time.monotonic() + 10
        while True:
            try:
                if migrate:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                self.db = Database(self.path)
                self.db.execute("PRAGMA busy_timeout = 10000")
                # A scan's temporary tables in memory, not in temp files; a page cache
                # that holds a large scan's working set (32 MB; SQLite's default is 2 MB).
                self.db.execute("PRAGMA temp_store = MEMORY")
                self.db.execute("PRAGMA cache_size = -32768")
                if migrate:
                    self.db.enable_wal()
                    self._migrate()
                return
            except (sqlite3.Error, OSError) as exc:
                # Switching to WAL and migrating a new file do not wait on the busy
                # handler: two processes opening one new database at once retry here.
                if "locked" in str(exc) and time.monotonic() < deadline:
                    self.db.close()
                    time.sleep(0.1)
                    continue
                raise StoreError(open_problem(self.path, exc)) from None

    def _migrate(self) -> None:
        """Apply pending migrations, one process at a time.

        Two processes opening a new database at once (a scheduler and `serve`) would
        otherwise both run a step and both record it (UNIQUE constraint failed on
        _sqlite_migrations). An advisory lock beside the file serialises them; the
        second finds nothing pending. Nothing is locked when nothing is pending.
        """
        if not migrations.pending(self.db):
            return
        lock = self.path.with_name(self.path.name + ".migrate-lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for seconds at most, by a migrating peer
            migrations.apply(self.db)
        finally:
            os.close(fd)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    def check(self) -> None:
        """Fail up front, before any AWS call, when the file is corrupt or read-only."""
        try:
            rows = self.db.execute("PRAGMA quick_check").fetchall()
            problems = [r[0] for r in rows if r[0] != "ok"]
            if problems:
                raise StoreError(
                    f"database {self.path} is damaged ({problems[0]}); restore it from a "
                    "backup, or move it aside to start a new history (docs/operations.md)"
                )
            with self.db.atomic():  # a write that is rolled back: proves the file is writable
                self.db.execute("UPDATE meta SET value = value WHERE key = ''")
                self.db.execute("INSERT INTO meta (key, value) VALUES ('', '')")
                raise _RollBack
        except _RollBack:
            return
        except sqlite3.Error as exc:
            raise StoreError(open_problem(self.path, exc)) from None

    # --- scans ---------------------------------------------------------------------------

    def start_scan(
        self, started_at: str, fence: Fence | None = None, trigger: str | None = None
    ) -> int:
        """Record a scan as running. Any older `running` row belongs to a process that
        died (the caller holds the data-directory lock), so it is marked failed. A
        scheduled scan starts only while its leader still holds the lease."""
        with self._immediate():
            lease.check(self.db.conn, fence)
            self.db.execute(
                "UPDATE scans SET status = 'failed', error = ? WHERE status = 'running'",
                [INTERRUPTED],
            )
            cur = self.db.execute(
                "INSERT INTO scans (started_at, status, trigger, epoch) "
                "VALUES (?, 'running', ?, ?)",
                [started_at, trigger, fence.epoch if fence else None],
            )
            return int(cur.lastrowid or 0)

    def fail_scan(
        self,
        scan_id: int,
        finished_at: str,
        error: str,
        commit_sha: str | None = None,
        alerts: AlertSetup | None = None,
        fence: Fence | None = None,
    ) -> None:
        """A scan that could not finish: nothing else changes, but its alert is queued
        (once per failure streak) in the same transaction. A fenced leader writes nothing."""
        from driftwatch.store.persist import scan_facts, write_alerts

        with self._immediate():
            lease.check(self.db.conn, fence)
            self.db.execute(
                "UPDATE scans SET status = 'failed', finished_at = ?, error = ?, "
                "commit_sha = coalesce(?, commit_sha) WHERE id = ?",
                [finished_at, error, commit_sha, scan_id],
            )
            if alerts is not None:
                facts = scan_facts(
                    self.db.conn, scan_id, "failed", finished_at, alerts, commit_sha, error
                )
                write_alerts(self.db.conn, alerts, facts, None)

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front (read-then-write safe)."""
        conn = self.db.conn
        with self.host_errors():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # --- the leader lease (store/lease.py) -----------------------------------------------

    def acquire_lease(self, holder: str, ttl_s: float, name: str = lease.SCHEDULER) -> int | None:
        with self._immediate():
            return lease.acquire(self.db.conn, name, holder, time.time(), ttl_s)

    def renew_lease(self, fence: Fence, ttl_s: float) -> bool:
        with self._immediate():
            return lease.renew(self.db.conn, fence, time.time(), ttl_s)

    def release_lease(self, fence: Fence) -> None:
        with self._immediate():
            lease.release(self.db.conn, fence)

    def lease(self, name: str = lease.SCHEDULER) -> dict[str, Any] | None:
        rows = list(self.db.table("leases").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    # --- the alerts outbox (store/outbox.py) ---------------------------------------------

    def enqueue(self, digests: list[Digest]) -> list[int]:
        with self._immediate():
            return outbox.enqueue(self.db.conn, digests, _now())

    def due_messages(self, limit: int = 20) -> list[dict[str, Any]]:
        return outbox.due(self.db.conn, _now(), limit)

    def mark_sent(self, message_id: int) -> None:
        """Not fenced on purpose: the receiver has the message, and a deposed leader that
        could not record it would only make the next leader send it again."""
        with self._immediate():
            self.db.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE id = ?",
                [_now(), message_id],
            )

    def mark_retry(self, message_id: int, error: str, next_attempt_at: str) -> None:
        with self._immediate():
            self.db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                "WHERE id = ?",
                [error, next_attempt_at, message_id],
            )

    def mark_failed(self, message_id: int, error: str) -> None:
        """A permanent failure: shown with the channel's error, not retried."""
        with self._immediate():
            self.db.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? "
                "WHERE id = ?",
                [error, message_id],
            )

    def follow_up(
        self, channels: Sequence[ChannelConfig], base_url: str | None, since: str
    ) -> list[int]:
        """Reminders due (repeat_interval) and announcements of acknowledgements that ran
        out since `since`, queued in one transaction; the outbox ids."""
        from driftwatch.alerts import plan_reminder, plan_snooze_ends

        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        ids: list[int] = []
        with self._immediate():
            ended = outbox.snooze_end_items(self.conn, since, base_url)
            ids += outbox.enqueue(self.conn, plan_snooze_ends(channels, ended, base_url), stamp)
            reminding = [c for c in channels if c.repeat_interval is not None]
            drifts = outbox.open_drifts(self.conn, base_url) if reminding else []
            for channel in reminding:
                said = outbox.last_said(self.conn, channel.name)
                digest = plan_reminder(
                    channel,
                    drifts,
                    said,
                    now,
                    channel.repeat_interval,
                    channel.remind_min_severity,
                    base_url,
                )
                if digest is not None:
                    ids.append(outbox.enqueue_reminder(self.conn, digest, stamp))
        return ids

    def messages(
        self, status: str | None = None, channel: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Outbox messages, newest first: status, attempts, last error (the notifications
        page and `driftwatch alerts list`)."""
        where, args = [], []
        for column, value in (("status", status), ("channel", channel)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        rows = self.db.table("outbox").rows_where(
            " AND ".join(where) or None, args, order_by="id DESC", limit=limit
        )
        return list(rows)

    # --- schedules and scan requests -----------------------------------------------------

    def record_schedule(self, name: str, **values: Any) -> None:
        """Upsert a schedule's next/last run (`GET /api/v1/schedules` reads these)."""
        self.db.table("schedule_runs").upsert({"name": name, **values}, pk="name")

    def schedules(self) -> list[dict[str, Any]]:
        return list(self.db.table("schedule_runs").rows_where(order_by="name"))

    def request_scan(self, requested_by: str) -> tuple[dict[str, Any], bool]:
        """Queue a scan for the leader; while one is queued or running, return that one.
        (row, created)."""
        with self._immediate():
            row = self.db.execute(
                "SELECT id FROM scan_requests WHERE status IN ('queued', 'running') LIMIT 1"
            ).fetchone()
            if row is None:
                cur = self.db.execute(
                    "INSERT INTO scan_requests (requested_at, requested_by, status) "
                    "VALUES (?, ?, 'queued')",
                    [_now(), requested_by],
                )
                rid, created = int(cur.lastrowid or 0), True
            else:
                rid, created = int(row[0]), False
        return self.scan_request(rid) or {}, created

    def scan_request(self, request_id: int) -> dict[str, Any] | None:
        rows = list(self.db.table("scan_requests").rows_where("id = ?", [request_id]))
        return rows[0] if rows else None

    def claim_scan_request(self, fence: Fence | None) -> int | None:
        """The leader takes the oldest queued request (None when there is none)."""
        with self._immediate():
            lease.check(self.db.conn, fence)
            row = self.db.execute(
                "SELECT id FROM scan_requests WHERE status = 'queued' ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self.db.execute(
                "UPDATE scan_requests SET status = 'running', started_at = ? WHERE id = ?",
                [_now(), row[0]],
            )
            return int(row[0])

    def scan_request_progress(
        self, request_id: int, done: int, total: int, resources: int, calls: int
    ) -> None:
        """Where a requested scan has got to (written at most once a second)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE scan_requests SET scopes_done = ?, scopes_total = ?, "
                "resources_read = ?, api_calls = ? WHERE id = ?",
                [done, total, resources, calls, request_id],
            )

    def finish_scan_request(
        self, request_id: int, scan_id: int | None, error: str | None = None
    ) -> None:
        with self._immediate():
            self.db.execute(
                "UPDATE scan_requests SET status = ?, scan_id = ?, finished_at = ?, error = ? "
                "WHERE id = ?",
                ["failed" if error else "done", scan_id, _now(), error, request_id],
            )

    def persist_scan(self, write: ScanWrite) -> Any:
        """Write the scan, snapshots, drift lifecycle and events in one transaction."""
        with self.host_errors(), _no_cyclic_gc(), self.db.atomic():
            return persist_scan(self.db.conn, write)

    @contextmanager
    def host_errors(self) -> Iterator[None]:
        """What the file system refused (disk full, I/O error, read-only) as a StoreError
        naming the file; any other SQLite error stays what it is (a driftwatch bug)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if not host_problem(exc):
                raise
            raise StoreError(open_problem(self.path, exc)) from exc

    def last_declared_count(self) -> int | None:
        """How many resources the last successful (ok or partial) scan declared."""
        row = self.db.execute(
            "SELECT declared FROM scans WHERE status IN ('ok', 'partial') "
            "AND declared IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else int(row[0])

    # --- reads ---------------------------------------------------------------------------

    def scans(self) -> list[dict[str, Any]]:
        return list(self.db.table("scans").rows_where(order_by="id"))

    def scan(self, scan_id: int) -> dict[str, Any] | None:
        rows = list(self.db.table("scans").rows_where("id = ?", [scan_id]))
        return rows[0] if rows else None

    def last_completed_scan(self) -> dict[str, Any] | None:
        """The latest scan that read AWS and stored its findings (ok or partial)."""
        rows = self.db.table("scans").rows_where(
            "status IN ('ok', 'partial')", order_by="id DESC", limit=1
        )
        return next(iter(rows), None)

    def ignore_rules(self, scan_id: int) -> list[dict[str, Any]]:
        """A scan's [[ignore]] rules as they were, with their status in that scan."""
        return list(
            self.db.table("ignore_rules").rows_where(
                "scan_id = ?", [scan_id], order_by="rule_index"
            )
        )

    def ignore_hits(self, scan_id: int) -> list[dict[str, Any]]:
        """What each rule hid in a scan: whole findings (path null) and change paths."""
        return list(
            self.db.table("ignore_hits").rows_where(
                "scan_id = ?",
                [scan_id],
                order_by="rule_index, type, account, region, resource_id, path",
            )
        )

    def scope_errors(self, scan_id: int) -> list[dict[str, Any]]:
        return list(
            self.db.table("scope_errors").rows_where("scan_id = ?", [scan_id], order_by="id")
        )

    def drifts(
        self,
        status: str | None = None,
        rtype: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Drift records, oldest first; status `open` means not resolved."""
        where: list[str] = []
        args: list[str] = []
        if status == OPEN:
            where.append(f"status IN ({', '.join('?' for _ in OPEN_STATUSES)})")
            args += OPEN_STATUSES
        elif status:
            where.append("status = ?")
            args.append(status)
        for column, value in (("type", rtype), ("account", account)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        return self._rows(
            f"SELECT {DRIFT_ROW} FROM {DRIFTS}{' WHERE ' + ' AND '.join(where) if where else ''} "
            "ORDER BY first_seen, fingerprint",
            args,
        )

    def drift(self, fingerprint: str) -> dict[str, Any] | None:
        rows = self._rows(f"SELECT {DRIFT_ROW} FROM {DRIFTS} WHERE fingerprint = ?", [fingerprint])
        return rows[0] if rows else None

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """A query's rows as dicts, JSON columns parsed."""
        cur = self.db.execute(sql, list(args))
        cols = [c[0] for c in cur.description]
        return [decode(dict(zip(cols, r, strict=True))) for r in cur.fetchall()]

    def events(self, fingerprint: str | None = None) -> list[dict[str, Any]]:
        where, args = ("fingerprint = ?", [fingerprint]) if fingerprint else (None, None)
        rows = self.db.table("drift_events").rows_where(where, args, order_by="id")
        return [decode(r) for r in rows]

    def resources(self) -> list[dict[str, Any]]:
        """Every resource's current state, with its latest snapshot read."""
        return self._rows(
            f"SELECT {RESOURCE_ROW}, (SELECT s.snapshot FROM snapshots s "
            "WHERE s.key = resources.key AND s.snapshot IS NOT NULL ORDER BY s.id DESC LIMIT 1) "
            "AS snapshot "
            f"FROM {RESOURCES} ORDER BY key"
        )

    def resource_rows(self, rtype: str, rid: str) -> list[dict[str, Any]]:
        """The stored resources of a type with this id (in any account or region)."""
        return self._rows(
            f"SELECT {RESOURCE_ROW} FROM {RESOURCES} WHERE type = ? AND resource_id = ? "
            "ORDER BY key",
            [rtype, rid],
        )

    def snapshots(self, key: str) -> list[dict[str, Any]]:
        """A resource's state changes, oldest first (a row when its kind or content changed)."""
        rows = self.db.table("snapshots").rows_where("key = ?", [key], order_by="id")
        return [decode(r) for r in rows]

    def drifts_of(self, account: str, region: str, rtype: str, rid: str) -> list[dict[str, Any]]:
        return self._rows(
            f"SELECT {DRIFT_ROW} FROM {DRIFTS} WHERE account = ? AND region = ? AND type = ? "
            "AND resource_id = ? ORDER BY first_seen",
            [account, region, rtype, rid],
        )

    # --- people's actions (dashboard, API, CLI) -------------------------------------------

    def acknowledge(self, fp: str, actor: Actor, reason: str, until: str | None = None) -> None:
        with self.db.atomic():
            actions.acknowledge(self.conn, fp, actor, _now(), reason, until)

    def unacknowledge(self, fp: str, actor: Actor) -> None:
        with self.db.atomic():
            actions.unacknowledge(self.conn, fp, actor, _now())

    def expire_snoozes(self) -> int:
        with self.db.atomic():
            return actions.expire_snoozes(self.conn, _now())

    def audit(self, actor: Actor, action: str, target: str, detail: str = "") -> None:
        with self.db.atomic():
            actions.audit(self.conn, _now(), actor, action, target, detail)

    def upsert_user(self, name: str, password_hash: str, role: str, actor: Actor) -> bool:
        with self.db.atomic():
            return users.upsert_user(self.conn, name, password_hash, role, _now(), actor)

    def add_token(
        self, user_id: int, name: str, scope: str, digest: str, prefix: str, actor: Actor
    ) -> int:
        with self.db.atomic():
            return users.add_token(self.conn, user_id, name, scope, digest, prefix, _now(), actor)

    def revoke_token(self, token_id: int, actor: Actor) -> bool:
        with self.db.atomic():
            return users.revoke_token(self.conn, token_id, _now(), actor)

    def reserve_login_attempt(
        self, name: str, ip: str, since: str, limit: int, wait_s: float = LOGIN_WAIT_S
    ) -> int | None:
        """An attempt's id, counted as a failure from now until it succeeds; None when
        `limit` failures came since `since`. When attempts in flight would reach the
        limit this one waits (up to `wait_s`) for them to settle: parallel guesses get
        no more password checks than serial ones, parallel good logins still pass."""
        deadline = time.monotonic() + wait_s
        while True:
            now = dt.datetime.now(dt.UTC)
            stale = (now - dt.timedelta(seconds=LOGIN_PENDING_S)).strftime(ISO)
            with self._immediate():  # the count and the insert under one write lock
                failed, in_flight = users.login_attempts(self.conn, since, name, ip, stale)
                if failed >= limit:
                    return None
                if in_flight < limit:
                    return users.add_login_attempt(self.conn, now.strftime(ISO), name, ip)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def settle_login_failure(self, attempt_id: int) -> None:
        with self.db.atomic():
            users.settle_login_failure(self.conn, attempt_id)

    def start_session(
        self, attempt_id: int, user_id: int, digest: str, ip: str, expired_before: str
    ) -> None:
        with self.db.atomic():
            users.prune_sessions(self.conn, expired_before)
            users.start_session(self.conn, attempt_id, user_id, digest, _now(), ip)

    def end_session(self, digest: str) -> None:
        with self.db.atomic():
            users.end_session(self.conn, digest)

    # --- remediations (store/remediations.py) --------------------------------------------

    def create_remediation(self, actor: Actor, **values: Any) -> int:
        with self.db.atomic():
            return remediations.create(self.conn, _now(), actor, **values)

    def drift_ids(self, prefix: str, limit: int = 2) -> list[str]:
        """Drift ids that start with `prefix` (the CLI accepts a unique prefix)."""
        rows = self.conn.execute(
            "SELECT fingerprint FROM drifts WHERE fingerprint >= ? AND fingerprint < ? LIMIT ?",
            [prefix, prefix + "\uffff", limit],
        )
        return [r[0] for r in rows]

    def remediation(self, rid: int) -> dict[str, Any] | None:
        return remediations.decode(remediations.get(self.conn, rid), _now())

    def remediations_of(self, fp: str) -> list[dict[str, Any]]:
        now = _now()
        return [remediations.decode(r, now) or {} for r in remediations.of_drift(self.conn, fp)]

    def approve_remediation(self, rid: int, actor: Actor) -> None:
        with self.db.atomic():
            remediations.approve(self.conn, rid, actor, _now())

    def claim_remediation(self, rid: int, actor: Actor, require_approval: bool) -> dict[str, Any]:
        with self._immediate():
            return remediations.claim(self.conn, rid, actor, _now(), require_approval)

    def finish_remediation(
        self, rid: int, actor: Actor, status: str, result: dict[str, Any], resolve: bool = False
    ) -> None:
        with self.db.atomic():
            remediations.finish(self.conn, rid, actor, _now(), status, result, resolve=resolve)

    def refuse_remediation(self, rid: int, actor: Actor, why: str) -> None:
        with self.db.atomic():
            remediations.refuse(self.conn, rid, actor, _now(), why)

    def auto_history(self, limit: int) -> list[tuple[int, str, str, bool]]:
        return remediations.auto_history(self.conn, limit)

    def meta(self, key: str) -> str | None:
        return remediations.meta(self.conn, key)

    def set_meta(self, key: str, value: str) -> None:
        with self.db.atomic():
            remediations.set_meta(self.conn, key, value)

    def remediation_note(self, fp: str, actor: Actor, text: str) -> None:
        with self.db.atomic():
            remediations.note(self.conn, fp, actor, _now(), text)

    # --- retention -----------------------------------------------------------------------

    def prune(self, cutoff: str, dry_run: bool = False) -> PruneCounts:
        """Remove history older than `cutoff` (ISO time); never an open drift."""
        if dry_run:
            return prune(self.db.conn, cutoff, dry_run=True)
        with self.db.atomic():
            counts = prune(self.db.conn, cutoff, dry_run=False)
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES ('last_prune', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [_now()],
            )
        # The pragma frees one page per step, and Python's execute() stops after the
        # first step of a statement that returns no rows; executescript() runs it out.
        self.db.conn.executescript("PRAGMA incremental_vacuum;")
        return counts

    def last_prune(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'last_prune'").fetchone()
        return None if row is None else str(row[0])


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a 100k-finding persist allocates about a million
    short-lived tuples and strings (no reference cycles), and each collection they trigger
    walks every finding of the scan (measured: 0.5-0.6 s of a 2.9 s persist)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _RollBack(Exception):
    """Raised inside db.atomic() to roll back a probe write."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
# What SQLite says when the file system, not driftwatch, refused a write.
_HOST_PROBLEMS = ("database or disk is full", "disk i/o error", "readonly database")
_LOW_SPACE = 1024 * 1024  # below this, an I/O error on write is taken for a full disk


def host_problem(exc: BaseException) -> bool:
    """True when a SQLite error is the file system's doing (full, I/O, read-only)."""
    text = str(exc).lower()
    return any(p in text for p in _HOST_PROBLEMS)


def free_bytes(path: Path) -> int | None:
    """Space left for an unprivileged writer on the file system holding `path`."""
    try:
        st = os.statvfs(path if path.is_dir() else path.parent)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def write_problem(path: Path) -> str | None:
    """Why the database cannot take a write right now (read-only, disk full), or None:
    two system calls, cheap enough for every overview request."""
    if path.exists() and not os.access(path, os.W_OK):  # also true of chattr +i for root
        return open_problem(path, OSError(errno.EACCES, "the file is not writable"))
    free = free_bytes(path)
    if free is not None and free < _LOW_SPACE:
        return open_problem(path, OSError(errno.ENOSPC, "no space left on the file system"))
    return None


def open_problem(path: Path, exc: BaseException) -> str:
    """One line saying what is wrong with the database file, and what to do."""
    text = str(exc)
    free = free_bytes(path)
    full = "disk is full" in text or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
    if full or ("disk I/O error" in text and free is not None and free < _LOW_SPACE):
        return (
            f"database {path}: the file system holding it is full ({text}; {free} bytes "
            "free); this write was rolled back and earlier results are kept: free space there "
            "(or move storage.path) and retry"
        )
    readonly = "readonly" in text.replace("-", "").replace(" ", "") or "read-only" in text
    if readonly or (isinstance(exc, OSError) and exc.errno in _NOT_WRITABLE):
        return (
            f"database {path} is read-only ({text}); driftwatch writes every scan: give the "
            "user running it write access to the file and its folder"
        )
    if "not a database" in text or "malformed" in text:
        return (
            f"database {path} is damaged ({text}); restore it from a backup, or move it "
            "aside to start a new history (docs/operations.md)"
        )
    return f"cannot open database {path}: {text}"
