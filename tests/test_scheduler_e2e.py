"""Real `driftwatch scheduler` processes on one database: one leader, takeover on kill,
fencing after SIGSTOP, and the outbox delivering exactly once across a restart."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from support.env import Aws, ManifestRepo, write_config
from support.receiver import receiver
from support.smtpserver import free_port

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
        wait_for(
            lambda: (
                db.exists()
                and rows(db, "SELECT count(*) FROM scans WHERE status='ok'")
                and rows(db, "SELECT count(*) FROM scans WHERE status='ok'")[0][0] >= 3
            ),
            60,
        )
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
