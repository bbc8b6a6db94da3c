"""What the app keeps between requests, and the per-request database connection."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field

from flask import current_app, g

from driftwatch.aws import AwsSessions
from driftwatch.config import Config
from driftwatch.errors import DriftwatchError
from driftwatch.store import Store, read

log = logging.getLogger(__name__)
SNOOZE_CHECK_EVERY_S = 60.0


@dataclass
class DashboardState:
    """`app.extensions["driftwatch"]`: the parsed config and process-wide bookkeeping."""

    config: Config
    _snooze_checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    _counts: tuple[int, read.Counts] | None = None
    _aws: AwsSessions | None = None

    def aws_sessions(self) -> AwsSessions:
        """One set of AWS clients per process (thread-safe), made on first remediation."""
        with self._lock:
            if self._aws is None:
                self._aws = AwsSessions(self.config.aws)
            return self._aws

    def drift_counts(self, conn: sqlite3.Connection) -> read.Counts:
        """The overview's and /metrics' groups of open drifts, recomputed only when a
        drift event was written since (any worker's or scan's): 20,000 open drifts take
        about 4 ms to group, the marker a primary-key lookup."""
        marker = read.change_marker(conn)
        cached = self._counts
        if cached is not None and cached[0] == marker:
            return cached[1]
        counts = read.drift_counts(conn)
        self._counts = (marker, counts)
        return counts

    def connection(self) -> Store:
        """This thread's connection, opened once: its page cache stays warm across
        requests (a SQLite connection may only be used by the thread that opened it)."""
        s: Store | None = getattr(self._local, "store", None)
        if s is None:
            s = self._local.store = Store(self.config.storage.path, migrate=False)
        return s

    def snooze_check_due(self) -> bool:
        """True at most once a minute per process: time to end acknowledgements past
        their date (any worker may do it; it is one idempotent transaction)."""
        with self._lock:
            now = time.monotonic()
            if now - self._snooze_checked < SNOOZE_CHECK_EVERY_S:
                return False
            self._snooze_checked = now
            return True


def state() -> DashboardState:
    st: DashboardState = current_app.extensions["driftwatch"]
    return st


def store() -> Store:
    """This request's connection: its thread's (see DashboardState.connection)."""
    if "store" not in g:
        g.store = state().connection()
        if state().snooze_check_due():
            try:
                g.store.expire_snoozes()
            except (sqlite3.Error, DriftwatchError) as exc:  # a read-only database still reads
                log.warning("could not end expired acknowledgements: %s", exc)
    s: Store = g.store
    return s


def close_store(_exc: BaseException | None = None) -> None:
    """End of a request: the thread keeps its connection; a failed write rolls back."""
    s = g.pop("store", None)
    if s is not None and s.conn.in_transaction:
        s.conn.rollback()
