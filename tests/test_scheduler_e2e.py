"""Real `driftwatch scheduler` processes on one database: one leader, takeover on kill,
fencing after SIGSTOP, and the outbox delivering exactly once across a restart."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.env import Aws, ManifestRepo, write_config
from support.receiver import receiver
from support.smtpserver import free_port

from driftwatch.config import load_config
from driftwatch.scan import RunAs, run_scan
from driftwatch.store import INTERRUPTED, Fence, FencedError, Store

SCHED = '[scan]\ntypes = ["aws_s3_bucket"]\n[[schedules]]\nname = "fast"\ninterval = "1s"\n'


def start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "driftwatch", "scheduler", "--config", str(cfg), "--lease", "3s"],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db, timeout=10) as conn:
        return conn.execute(sql).fetchall()


def count(db: Path, sql: str) -> int:
    """A count(*) query; 0 while the database or its tables do not exist yet."""
    if not db.exists():
        return 0
    try:
        return int(str(rows(db, sql)[0][0]))
    except sqlite3.OperationalError:
        return 0


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGCONT)  # a frozen process cannot act on SIGTERM
            os.kill(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def wait_for(cond, timeout_s: float) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if cond():
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s}s")


def test_one_leader_and_takeover_after_sigkill(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {}})
    cfg = write_config(tmp_path, aws.url, repo.path, SCHED)
    db = tmp_path / "state" / "driftwatch.db"
    a = start(cfg, tmp_path / "a.log")
    b = start(cfg, tmp_path / "b.log")
    try:
        # count(): 0 while the file exists but its schema is still being made.
        wait_for(lambda: count(db, "SELECT count(*) FROM scans WHERE status='ok'") >= 3, 60)
        [(holder, epoch)] = rows(db, "SELECT holder, epoch FROM leases")
        assert {r[0] for r in rows(db, "SELECT epoch FROM scans")} == {epoch}
        # Never overlapping: each scan started after the one before finished.
        spans = rows(db, "SELECT started_at, finished_at FROM scans ORDER BY id")
        assert all(s[1] is not None for s in spans[:-1])
        leader = a if f":{a.pid}:" in str(holder) else b
        standby = b if leader is a else a
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        took = wait_for(lambda: rows(db, "SELECT epoch FROM leases")[0][0] == epoch + 1, 15)
        assert took < 3 + 2  # within one lease period (plus a renewal tick)
        [(new_holder,)] = rows(db, "SELECT holder FROM leases")
        assert f":{standby.pid}:" in str(new_holder)
        wait_for(
            lambda: (
                rows(db, f"SELECT count(*) FROM scans WHERE epoch = {epoch + 1} AND status = 'ok'")[
                    0
                ][0]
                >= 1
            ),
            30,
        )
    finally:
        for p in (a, b):
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()


def freeze_mid_scan(proc: subprocess.Popen[bytes], db: Path) -> None:
    """SIGSTOP `proc` while its scan row is running, but not inside a write transaction
    (a frozen SQLite writer would block everyone: that is not the case under test)."""
    running = "SELECT count(*) FROM scans WHERE status = 'running'"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not count(db, running):
            time.sleep(0.01)  # scans take a few hundred ms: poll tightly
            continue
        proc.send_signal(signal.SIGSTOP)
        try:
            with sqlite3.connect(db, timeout=0.5, isolation_level=None) as conn:
                conn.execute("BEGIN IMMEDIATE")
                still = conn.execute(running).fetchone()[0]
                conn.execute("ROLLBACK")
            if still:
                return
        except sqlite3.OperationalError:  # frozen holding the write lock
            pass
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("could not freeze the leader mid-scan")


def alerting(url: str) -> str:
    return (
        "[alerts]\nbackoff = '1s'\nmax_backoff = '2s'\n"
        f"[[alerts.channels]]\nname = 'pager'\ntype = 'webhook'\nurl = '{url}'\n"
    )


def test_outbox_delivers_exactly_once_across_a_restart(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    for name in ("logs", "data"):
        s3.create_bucket(Bucket=name)
    spec = {"versioning": "Enabled"}
    repo.declare(*({"type": "aws_s3_bucket", "id": n, "spec": spec} for n in ("logs", "data")))
    port = free_port()  # nothing listens yet: connection refused
    cfg = write_config(
        tmp_path, aws.url, repo.path, SCHED + alerting(f"http://127.0.0.1:{port}/hook")
    )
    db = tmp_path / "state" / "driftwatch.db"
    refused = "SELECT count(*) FROM outbox WHERE attempts >= 1 AND last_error LIKE '%connect%'"
    procs = [start(cfg, tmp_path / "a.log")]
    try:
        wait_for(lambda: count(db, refused) == 1, 30)
        s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
        wait_for(lambda: count(db, "SELECT count(*) FROM outbox") == 2, 30)  # logs resolved
        with receiver(port) as rec:
            # The receiver takes a message but the sender dies before it hears "200".
            rec.holds = 1
            wait_for(lambda: len(rec.requests) == 1, 20)
            procs[0].kill()
            procs[0].wait(10)
            assert count(db, "SELECT count(*) FROM outbox WHERE status = 'sent'") == 0
            rec.answer((500, {}))  # and the new sender's first try fails
            procs.append(start(cfg, tmp_path / "b.log"))
            took = wait_for(
                lambda: count(db, "SELECT count(*) FROM outbox WHERE status != 'sent'") == 0, 30
            )
            time.sleep(2.5)  # more scans and send passes: nothing else goes out
            ids = [str(r[0]) for r in rows(db, "SELECT delivery_id FROM outbox ORDER BY id")]
            assert len(ids) == 2 and sorted(rec.delivered) == sorted(ids)
            in_flight = rec.requests[0]["headers"]["X-Driftwatch-Delivery"]
            # The one in flight at the kill is resent with its id; the receiver dedups it.
            assert {i: rec.count(i) for i in ids} == {i: 1 + (i == in_flight) for i in ids}
            assert rec.requests[0]["body"] == rec.delivered[in_flight]["body"]
            assert rec.attempts == 4  # held + 500 + resend + the other message
            events = [
                (d["id"], d["event"]) for r in rec.delivered.values() for d in r["json"]["drifts"]
            ]
            assert sorted(events) == [("data", "opened"), ("logs", "opened"), ("logs", "resolved")]
            assert took < 15
        stop_all(procs)  # SIGTERM: a running scan finishes before the process exits
        failed = rows(db, "SELECT error FROM scans WHERE status != 'ok'")
        assert all(str(e).startswith("interrupted") for (e,) in failed), failed
    finally:
        stop_all(procs)


def test_leader_frozen_past_its_lease_writes_nothing_after_takeover(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {}})
    cfg = write_config(tmp_path, aws.url, repo.path, SCHED)
    db = tmp_path / "state" / "driftwatch.db"
    procs = [start(cfg, tmp_path / "a.log"), start(cfg, tmp_path / "b.log")]
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM scans WHERE status = 'ok'") >= 2, 60)
        [(holder, epoch)] = rows(db, "SELECT holder, epoch FROM leases")
        old = next(p for p in procs if f":{p.pid}:" in str(holder))
        new = next(p for p in procs if p is not old)
        freeze_mid_scan(old, db)
        wait_for(lambda: rows(db, "SELECT epoch FROM leases")[0][0] == epoch + 1, 15)
        [(new_holder,)] = rows(db, "SELECT holder FROM leases")
        assert f":{new.pid}:" in str(new_holder)
        # The old epoch's rows as they stand at the takeover. Frozen mid-scan, the old
        # leader still holds the data-directory lock: the new one's scans wait for it.
        before = rows(db, f"SELECT * FROM scans WHERE epoch = {epoch} ORDER BY id")
        last_old = max(int(str(r[0])) for r in before)
        assert [r for r in before if "running" in r], "not frozen mid-scan"
        old.send_signal(signal.SIGCONT)
        # Its missed schedule runs fire at once on resume, and its lease tick comes within
        # a third of the lease: give both time, plus a few of the new leader's scans.
        new_ok = f"SELECT count(*) FROM scans WHERE epoch = {epoch + 1} AND status = 'ok'"
        wait_for(lambda: count(db, new_ok) >= 3, 20)
        assert old.poll() is None  # alive, standing by
        after = rows(db, f"SELECT * FROM scans WHERE epoch = {epoch} ORDER BY id")
        assert [r[0] for r in after] == [r[0] for r in before]
        for was, now in zip(before, after, strict=True):
            # A scan it left running is marked interrupted by the new leader, never
            # finished by the old one.
            if was != now or "running" in was:
                assert "running" in was and "failed" in now and INTERRUPTED in now, (was, now)
        later = rows(db, f"SELECT id, epoch FROM scans WHERE id > {last_old} ORDER BY id")
        assert len(later) >= 3 and {e for _, e in later} == {epoch + 1}, later
        assert rows(db, "SELECT holder, epoch FROM leases") == [(new_holder, epoch + 1)]
        # Never two scans at once: each started after the one before it finished.
        spans = rows(db, "SELECT id, started_at, finished_at FROM scans ORDER BY id")
        for (_, _, prev_end), (sid, start_at, _) in itertools.pairwise(spans):
            assert prev_end is None or str(start_at) >= str(prev_end), (sid, spans)
        assert count(db, "SELECT count(*) FROM scans WHERE status = 'running'") <= 1
        log = (tmp_path / "state" / ".driftwatch" / "driftwatch.log").read_text()
        assert f"[pid {old.pid}] lease lost at epoch {epoch}: standing by" in log, log[-3000:]
    finally:
        stop_all(procs)


def test_fence_refuses_a_deposed_leaders_persist_and_next_start(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    """Deterministic, in one process: the leader stalls mid-scan past its lease (in the
    progress callback), a standby takes the lease, and the stalled scan writes nothing."""
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Enabled"}})
    extra = '[scan]\ntypes = ["aws_s3_bucket"]\n' + alerting("http://127.0.0.1:9/hook")
    cfg = load_config(write_config(tmp_path, aws.url, repo.path, extra))
    old_store, new_store = Store(cfg.storage.path), Store(cfg.storage.path)
    old = Fence("old", old_store.acquire_lease("old", 0.2) or 0)
    taken: list[int | None] = []

    def stall(progress: object) -> None:
        if not taken:
            time.sleep(0.3)  # past the old leader's lease
            taken.append(new_store.acquire_lease("new", 30))

    with pytest.raises(FencedError, match="held by new at epoch 2"):
        run_scan(cfg, old_store, stall, run_as=RunAs(trigger="t", fence=old))
    assert taken == [old.epoch + 1]
    # Its row stays as started; no drift, no event, no outbox message was written.
    assert [(s["status"], s["epoch"]) for s in new_store.scans()] == [("running", 1)]
    assert new_store.drifts() == [] and new_store.messages() == []
    with pytest.raises(FencedError):  # nor can it start another
        run_scan(cfg, old_store, run_as=RunAs(trigger="t", fence=old))
    assert len(new_store.scans()) == 1

    run_scan(cfg, new_store, run_as=RunAs(trigger="t", fence=Fence("new", 2)))
    assert sorted((s["status"], s["epoch"]) for s in new_store.scans()) == [
        ("failed", 1),  # interrupted, marked by the new leader's start
        ("ok", 2),
    ]
    assert len(new_store.drifts()) == 1 and len(new_store.messages()) == 1


def test_no_burst_of_catch_up_scans_after_a_pause(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    """Missed runs give one catch-up scan. What the user sees, not which setting does it:
    `coalesce = True` and `max_instances = 1` each prevent the burst on their own."""
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {}})
    cfg = write_config(tmp_path, aws.url, repo.path, SCHED)
    db = tmp_path / "state" / "driftwatch.db"
    procs = [start(cfg, tmp_path / "a.log")]
    scans = "SELECT count(*) FROM scans"
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM scans WHERE status = 'ok'") >= 2, 60)
        procs[0].send_signal(signal.SIGSTOP)
        time.sleep(5)  # five runs of the 1 s schedule are missed
        before = count(db, scans)
        procs[0].send_signal(signal.SIGCONT)
        time.sleep(2)
        after = count(db, scans)
        # One catch-up run, then the schedule's own pace: not five back to back.
        assert 1 <= after - before <= 3, (before, after)
        assert rows(db, "SELECT DISTINCT epoch FROM scans") == [(1,)]
        spans = rows(db, "SELECT started_at, finished_at FROM scans ORDER BY id")
        assert all(str(b[0]) >= str(a[1]) for a, b in itertools.pairwise(spans) if a[1])
    finally:
        stop_all(procs)


def test_the_scheduler_sends_a_reminder_of_a_drift_still_open(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Enabled"}})
    with receiver() as rec:
        channel = alerting(rec.url + "/hook") + "repeat_interval = '10s'\n"
        cfg = write_config(tmp_path, aws.url, repo.path, SCHED + channel)
        procs = [start(cfg, tmp_path / "a.log")]
        try:
            # The first scheduled scan announces the drift, then 10 s on, one reminder.
            waited = wait_for(lambda: len(rec.requests) >= 2, 45)
            first, second = (r["json"] for r in rec.requests[:2])
            assert [i["event"] for i in first["drifts"]] == ["opened"]
            assert second["title"] == "driftwatch reminder: 1 drift still open"
            assert [(i["id"], i["event"]) for i in second["drifts"]] == [("logs", "reminder")]
            assert waited >= 10
        finally:
            stop_all(procs)


def test_a_requested_scan_reports_its_progress(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {}})
    slow = (
        '[scan]\ntypes = ["aws_s3_bucket", "aws_sqs_queue"]\n'
        '[[schedules]]\nname = "daily"\ncron = "0 3 * * *"\n'
    )
    cfg = write_config(tmp_path, aws.url, repo.path, slow)
    db = tmp_path / "state" / "driftwatch.db"
    procs = [start(cfg, tmp_path / "a.log")]
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM leases") == 1, 20)
        store = Store(db)
        request, _ = store.request_scan("olga")
        store.close()
        done = f"SELECT count(*) FROM scan_requests WHERE id = {request['id']} AND status = 'done'"
        wait_for(lambda: count(db, done) == 1, 30)
        [(sdone, total, read, calls)] = rows(
            db, "SELECT scopes_done, scopes_total, resources_read, api_calls FROM scan_requests"
        )
        assert sdone == total == 2  # one region, two watched types
        assert read == 1 and isinstance(calls, int) and calls >= 2
    finally:
        stop_all(procs)
