"""Two real `driftwatch scheduler` processes on one database: one leader, takeover on kill."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from support.env import Aws, ManifestRepo, write_config

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
