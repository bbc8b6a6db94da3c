"""What the app keeps between requests, and the per-request database connection."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field

from flask import current_app, g

from driftwatch.config import Config
from driftwatch.errors import DriftwatchError
from driftwatch.store import Store

log = logging.getLogger(__name__)
SNOOZE_CHECK_EVERY_S = 60.0


@dataclass
class DashboardState:
    """`app.extensions["driftwatch"]`: the parsed config and process-wide bookkeeping."""

    config: Config
    _snooze_checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
    """This request's connection (SQLite connections stay in their thread)."""
    if "store" not in g:
        g.store = Store(state().config.storage.path, migrate=False)
        if state().snooze_check_due():
            try:
                g.store.expire_snoozes()
            except (sqlite3.Error, DriftwatchError) as exc:  # a read-only database still reads
                log.warning("could not end expired acknowledgements: %s", exc)
    s: Store = g.store
    return s


def close_store(_exc: BaseException | None = None) -> None:
    s = g.pop("store", None)
    if s is not None:
        s.close()
