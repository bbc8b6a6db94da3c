"""Scheduled scans under one leader: APScheduler 3 in-process, a lease row in SQLite.

A process runs `Scheduler.run()`: it tries to take the lease every `lease_s / 3`
seconds; as leader it renews the lease at that pace and runs the jobs (each schedule,
queued scan requests, the outbox sender); when a renewal fails (another process took
the lease after this one was frozen or slow), it stops its jobs at once and is a
standby again. Every scan it starts and persists is fenced by its epoch
(store/lease.py), so a leader that resumes after losing the lease writes nothing.

`create_app()` never starts a scheduler; `driftwatch serve` calls `start_in_thread`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from driftwatch.collect import Progress
from driftwatch.config import Config, Schedule
from driftwatch.delivery import send_due
from driftwatch.errors import DriftwatchError, LockError
from driftwatch.store import Fence, FencedError, Store

log = logging.getLogger(__name__)

LEASE_S = 15.0
MISFIRE_GRACE_S = 60
SEND_EVERY_S = 2.0
REQUESTS_EVERY_S = 2.0


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def trigger_of(s: Schedule) -> Any:
    if s.cron:
        return CronTrigger.from_crontab(s.cron, timezone="UTC")
    assert s.interval is not None
    return IntervalTrigger(seconds=s.interval.total_seconds(), timezone="UTC")


def _iso(t: dt.datetime | None) -> str | None:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


class Scheduler:
    """One process's scheduler: standby until it holds the lease, then the leader."""

    def __init__(self, cfg: Config, store: Store, lease_s: float = LEASE_S) -> None:
        self.cfg, self.store, self.lease_s = cfg, store, lease_s
        self.holder = holder_name()
        self.fence: Fence | None = None
        self.stopping = threading.Event()
        self._aps: BackgroundScheduler | None = None

    # --- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        """Until stop(): take or renew the lease, start or stop the jobs."""
        log.info("scheduler %s started (lease %ss)", self.holder, self.lease_s)
        try:
            while not self.stopping.is_set():
                self._tick()
                self.stopping.wait(self.lease_s / 3)
        finally:
            self._stand_down(release=True)
            log.info("scheduler %s stopped", self.holder)

    def stop(self) -> None:
        self.stopping.set()

    def _tick(self) -> None:
        """Take the lease when free, or renew ours; the loop thread owns self.store."""
        if self.fence is None:
            epoch = self.store.acquire_lease(self.holder, self.lease_s)
            if epoch is not None:
                self.fence = Fence(self.holder, epoch)
                log.info("leader: %s at epoch %s", self.holder, epoch)
                self._start_jobs()
        elif not self.store.renew_lease(self.fence, self.lease_s):
            log.warning("lease lost at epoch %s: standing by", self.fence.epoch)
            self._stand_down(release=False)

    def still_leader(self) -> bool:
        return self.fence is not None and not self.stopping.is_set()

    def _start_jobs(self) -> None:
        aps = BackgroundScheduler(
            executors={"scans": ThreadPoolExecutor(1), "default": ThreadPoolExecutor(2)},
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": MISFIRE_GRACE_S,
            },
            timezone="UTC",
        )
        for s in self.cfg.schedules:
            aps.add_job(
                self._scheduled_scan,
                trigger_of(s),
                args=[s],
                id=f"schedule:{s.name}",
                executor="scans",
                name=s.name,
            )
        aps.add_job(
            self._requested_scans,
            IntervalTrigger(seconds=REQUESTS_EVERY_S),
            id="requests",
            executor="scans",
        )
        aps.add_job(
            self._follow_up,
            IntervalTrigger(seconds=follow_up_every(self.cfg)),
            id="follow-up",
        )
        aps.add_job(
            self._send,
            IntervalTrigger(seconds=SEND_EVERY_S),
            id="outbox",
            next_run_time=dt.datetime.now(dt.UTC),
        )
        aps.start()
        self._aps = aps
        for s in self.cfg.schedules:
            self._record_next(s)

    def _stand_down(self, release: bool) -> None:
        aps, fence = self._aps, self.fence
        self._aps, self.fence = None, None
        if aps is not None:
            # Stopping: let a running scan finish (else it dies with the interpreter and
            # is stored as failed). Lease lost: don't wait, the fence refuses its writes.
            aps.shutdown(wait=release)
        if release and fence is not None:
            try:
                self.store.release_lease(fence)
            except DriftwatchError as exc:
                log.warning("could not release the lease: %s", exc)

    # --- jobs ----------------------------------------------------------------------------

    def _scheduled_scan(self, s: Schedule) -> None:
        from driftwatch.scan import RunAs

        self._scan(RunAs(trigger=s.name, scope=s.scope), schedule=s)

    def _requested_scans(self) -> None:
        """Scan-now requests (web app, `driftwatch scan --request`), one at a time."""
        from driftwatch.scan import RunAs

        fence = self.fence
        if fence is None:
            return
        store = Store(self.store.path)
        try:
            rid = store.claim_scan_request(fence)
        except FencedError:
            return
        finally:
            store.close()
        if rid is not None:
            self._scan(RunAs(trigger="request"), request_id=rid)

    def _scan(
        self, run_as: Any, schedule: Schedule | None = None, request_id: int | None = None
    ) -> None:
        from dataclasses import replace

        from driftwatch.scan import now_iso, run_scan

        fence = self.fence
        if fence is None or self.stopping.is_set():
            return
        run_as = replace(run_as, fence=fence)
        started, scan_id, status, error = now_iso(), None, None, None
        try:
            scan_store = Store(self.store.path)
            progress = RequestProgress(self.store.path, request_id) if request_id else None
            try:
                result = run_scan(self.cfg, scan_store, progress, run_as=run_as, wait_s=5)
            finally:
                scan_store.close()
                if progress is not None:
                    progress.close()
            scan_id, status = result.id, result.status
        except FencedError as exc:
            log.warning("scan not run or not stored: %s", exc)
            status, error = "fenced", str(exc)
        except LockError as exc:
            log.warning("scan skipped: %s", exc)
            status, error = "skipped", str(exc)
        except DriftwatchError as exc:
            log.warning("scheduled scan failed: %s", exc)
            status, error = "failed", str(exc)
        except Exception as exc:
            log.error("scheduled scan failed with an internal error", exc_info=exc)
            status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        store = Store(self.store.path)
        try:
            if schedule is not None:
                store.record_schedule(
                    schedule.name, last_run_at=started, last_scan_id=scan_id, last_status=status
                )
                self._record_next(schedule, store)
            if request_id is not None:
                store.finish_scan_request(request_id, scan_id, error)
        finally:
            store.close()

    def _record_next(self, s: Schedule, store: Store | None = None) -> None:
        job = self._aps.get_job(f"schedule:{s.name}") if self._aps else None
        (store or self.store).record_schedule(
            s.name, every=s.every, next_run_at=_iso(job.next_run_time if job else None)
        )

    def _follow_up(self) -> None:
        """Reminders of drifts still open, and acknowledgements that ran out."""
        if self.fence is None or not self.cfg.alerts.channels:
            return
        since = (dt.datetime.now(dt.UTC) - FOLLOW_UP_LOOKBACK).strftime("%Y-%m-%dT%H:%M:%SZ")
        store = Store(self.store.path)
        try:
            store.expire_snoozes()
            store.follow_up(self.cfg.alerts.channels, self.cfg.dashboard.base_url, since)
        finally:
            store.close()

    def _send(self) -> None:
        if self.fence is None:
            return
        store = Store(self.store.path)
        try:
            send_due(store, self.cfg.alerts, self.still_leader)
        finally:
            store.close()


class RequestProgress:
    """A requested scan's progress, written for the scan-now page at most once a second
    (and once at the end) through its own connection."""

    def __init__(self, path: Path, request_id: int, every_s: float = 1.0) -> None:
        self.path, self.request_id, self.every_s = path, request_id, every_s
        self._store: Store | None = None
        self._last = 0.0
        self._latest: Progress | None = None

    def __call__(self, progress: Progress) -> None:
        self._latest = progress
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self._write(progress)

    def _write(self, p: Progress) -> None:
        try:
            if self._store is None:
                self._store = Store(self.path, migrate=False)
            self._store.scan_request_progress(
                self.request_id, p.scopes_done, p.scopes_total, p.resources_read, p.api_calls
            )
        except DriftwatchError as exc:  # progress is a courtesy: never fail the scan for it
            log.warning("could not record scan progress: %s", exc)

    def close(self) -> None:
        if self._latest is not None:
            self._write(self._latest)
        if self._store is not None:
            self._store.close()


FOLLOW_UP_LOOKBACK = dt.timedelta(days=1)  # snooze ends older than this are not announced


def follow_up_every(cfg: Config) -> float:
    """How often the leader looks for reminders due: half the shortest repeat_interval,
    from 5 s to 5 min (an acknowledgement that ran out is announced within that)."""
    intervals = [c.repeat_interval for c in cfg.alerts.channels if c.repeat_interval]
    half = min(intervals).total_seconds() / 2 if intervals else 300.0
    return max(5.0, min(300.0, half))


def start_in_thread(
    cfg: Config, open_store: Callable[[], Store], lease_s: float = LEASE_S
) -> tuple[Scheduler, threading.Thread]:
    """For `driftwatch serve`: the scheduler beside the web server, in its own thread.

    The store is opened inside that thread (an SQLite connection belongs to the thread
    that made it). Call once per process, never from create_app(); stop with
    `sched.stop()` and join the thread.
    """
    made: list[Scheduler | BaseException] = []
    ready = threading.Event()

    def main() -> None:
        try:
            sched = Scheduler(cfg, open_store(), lease_s)
        except BaseException as exc:  # reported to the caller below, not lost in a thread
            made.append(exc)
            ready.set()
            return
        made.append(sched)
        ready.set()
        sched.run()

    thread = threading.Thread(target=main, name="driftwatch-scheduler", daemon=True)
    thread.start()
    ready.wait()
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0], thread


def next_runs(cfg: Config, now: dt.datetime | None = None) -> dict[str, str | None]:
    """Each schedule's next fire time computed from the config alone (no leader needed)."""
    now = now or dt.datetime.now(dt.UTC)
    out = {}
    for s in cfg.schedules:
        out[s.name] = _iso(trigger_of(s).get_next_fire_time(None, now))
    return out
