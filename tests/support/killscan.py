"""kill -9 of a real `driftwatch scan` at a random point, and what must hold afterwards.

One world (buckets in moto, a manifest repo, a webhook channel) has a finished first
scan; each trial copies its state directory, starts the second scan as a child process,
SIGKILLs it after a random delay, and checks the four promises of DESIGN.md rule 6:
the file is sound, the state is the first scan's or the second's (never a mix), the
next scan completes, and every drift record and outbox message ends up exactly as in a
run that was never killed. Used by tests/test_host_faults_e2e.py and bench/kill_bench.py.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftwatch.config import load_config
from driftwatch.delivery import send_due
from driftwatch.store import Store
from support.env import Aws, ManifestRepo, write_config

CHECKS = ("integrity", "intact", "next_scan", "records", "outbox", "delivered")
BUCKETS = 30
SCAN_TYPES = '[scan]\ntypes = ["aws_s3_bucket"]\n'


def alerting(url: str) -> str:
    return f"[[alerts.channels]]\nname = 'pager'\ntype = 'webhook'\nurl = '{url}'\n"


@dataclass
class World:
    """A first scan stored in `base`; `expected` is the state after an unkilled second scan."""

    root: Path
    base: Path  # the state directory after the first scan
    first: dict[str, Any]  # its normalised state
    expected: dict[str, Any]  # the state after the second scan, never killed
    expected_delivery: list[tuple[str, str]]  # (id, event) of every delivered drift item
    scan_s: float  # how long the unkilled second scan took, process start to exit (median)
    row_s: float  # when its `running` scan row appeared, from process start (median)
    hook_url: str


def build_world(aws: Aws, root: Path, hook_url: str, baselines: int = 1) -> World:
    """Seed moto and Git, run the first scan, then change AWS so the second scan has
    drift to open and to resolve (and a digest to queue); measure an unkilled second scan."""
    s3 = aws.client("s3")
    names = [f"b{i:02d}" for i in range(BUCKETS)]
    for i, name in enumerate(names):
        s3.create_bucket(Bucket=name)
        if i % 2 == 0:
            _versioning(s3, name, "Enabled")
    s3.create_bucket(Bucket="stray-1")
    repo = ManifestRepo(root / "infra")
    spec = {"versioning": "Enabled"}
    repo.declare(*({"type": "aws_s3_bucket", "id": n, "spec": spec} for n in names))
    cfg = write_config(root, aws.url, repo.path, SCAN_TYPES + alerting(hook_url))
    state = root / "state"
    first = run_scan_process(cfg)
    assert first.returncode == 2, first.stderr
    base = root / "base"
    checkpoint(state / "driftwatch.db")
    shutil.copytree(state, base)
    first_state = normalise(base / "driftwatch.db")
    # The second scan: odd buckets fixed (resolved), every fourth broken (opened), a stray.
    for i, name in enumerate(names):
        if i % 2 == 1:
            _versioning(s3, name, "Enabled")
        elif i % 4 == 0:
            _versioning(s3, name, "Suspended")
    s3.create_bucket(Bucket="stray-2")
    times = [timed_scan(cfg, state)]
    expected = normalise(state / "driftwatch.db")
    assert expected["records"] != first_state["records"]
    delivered = deliver(cfg, state / "driftwatch.db")
    for _ in range(baselines - 1):  # more unkilled runs from the same start, for a median
        shutil.rmtree(state)
        shutil.copytree(base, state)
        times.append(timed_scan(cfg, state))
    shutil.rmtree(state)
    scan_s, row_s = (statistics.median(t[i] for t in times) for i in (0, 1))
    return World(root, base, first_state, expected, delivered, scan_s, row_s, hook_url)


def timed_scan(cfg: Path, state: Path) -> tuple[float, float]:
    """Run the second scan unkilled: (seconds to exit, seconds until its scan row)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(scan_command(cfg), stdout=subprocess.DEVNULL)
    row_s = wait_for_row(proc, state / "driftwatch.db", 2) - t0
    assert proc.wait(120) == 2
    return time.monotonic() - t0, row_s


def _versioning(s3: Any, bucket: str, status: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def scan_command(cfg: Path) -> list[str]:
    return [sys.executable, "-m", "driftwatch", "scan", "--config", str(cfg), "--format", "json"]


def run_scan_process(cfg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(scan_command(cfg), capture_output=True, text=True, timeout=120)


def wait_for_row(proc: subprocess.Popen[bytes], db: Path, rows: int) -> float:
    """Poll until the scans table holds `rows` rows (or the process ended); the time."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                if conn.execute("SELECT count(*) FROM scans").fetchone()[0] >= rows:
                    break
        except sqlite3.OperationalError:
            pass  # between the kill of a writer and the next open, or busy
        time.sleep(0.005)
    return time.monotonic()


def checkpoint(db: Path) -> None:
    with sqlite3.connect(db, timeout=10) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def normalise(db: Path) -> dict[str, Any]:
    """What must survive a kill, without ids and times: drift records, their events,
    resources, and the outbox's messages and announced items (duplicates kept)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        q = conn.execute
        return {
            "records": sorted(
                q("SELECT fingerprint, kind, status, changes_hash FROM drifts").fetchall()
            ),
            "events": sorted(q("SELECT fingerprint, event FROM drift_events").fetchall()),
            "resources": sorted(q("SELECT key, kind, snapshot_hash FROM resources").fetchall()),
            "outbox": sorted(
                (row[0], row[1], _items(row[2]))
                for row in q("SELECT channel, kind, payload FROM outbox").fetchall()
            ),
            "alert_items": sorted(
                q(
                    "SELECT a.channel, a.fingerprint, e.event FROM alert_items a "
                    "JOIN drift_events e ON e.id = a.event_id"
                ).fetchall()
            ),
        }
    finally:
        conn.close()


def _items(payload: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((i["fingerprint"], i["event"]) for i in json.loads(payload)["items"]))


def deliver(cfg: Path, db: Path) -> list[tuple[str, str]]:
    """Send the outbox once; the (id, event) pairs the receiver should now hold."""
    config = load_config(cfg)
    store = Store(db)
    try:
        counts = send_due(store, config.alerts)
        assert counts.failed == 0 and counts.retried == 0, counts
        return sorted(
            (i["id"], i["event"])
            for m in store.messages()
            for i in json.loads(str(m["payload"]))["items"]
        )
    finally:
        store.close()


@dataclass
class Trial:
    mode: str
    delay_s: float
    at_s: float = 0.0  # when the kill was sent, from process start
    locked: bool = False  # in-transaction: the write lock was seen held before the kill
    next_s: float = 0.0  # how long the next (recovering) scan took, process start to exit
    phase: str = ""  # where the kill landed: before the scan row, mid-scan, after commit
    passed: dict[str, bool] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)

    def check(self, name: str, ok: bool, detail: object = "") -> None:
        self.passed[name] = bool(ok)
        if not ok:
            self.detail[name] = str(detail)[:2000]

    @property
    def ok(self) -> bool:
        return all(self.passed.get(c, False) for c in CHECKS)


MODES = ("whole-run", "mid-scan", "in-transaction")


def run_trial(
    world: World,
    n: int,
    rng: random.Random,
    received: list[Any],
    mode: str = MODES[0],
    jitter_s: float = 0.005,
) -> Trial:
    """Copy the first scan's state, kill the second scan at a random point, check.

    `whole-run`: after a delay uniform over the unkilled run (process start to exit,
    +5%). `mid-scan`: uniform over the part after its scan row appeared (+5%), counted
    from when the row appears. `in-transaction`: as soon as the scan is seen holding
    the database's write lock after its row appeared (its persist transaction), plus
    0 to `jitter_s` at random.
    """
    trial_dir = world.root / f"trial-{n}"
    state = trial_dir / "state"
    shutil.copytree(world.base, state)
    cfg = write_like(world, trial_dir)
    db = state / "driftwatch.db"
    trial = Trial(mode, delay_s=_delay(world, rng, mode, jitter_s))
    t0 = time.monotonic()
    proc = subprocess.Popen(scan_command(cfg), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if mode != "whole-run":
            wait_for_row(proc, db, 2)
        if mode == "in-transaction":
            trial.locked = wait_for_write_lock(proc, db)
        time.sleep(trial.delay_s)
    finally:
        if proc.poll() is None:  # (it may have finished first: the delay is random)
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        trial.at_s = round(time.monotonic() - t0, 3)
    trial.phase = phase(db)
    if trial.locked and trial.phase == "mid-scan":
        trial.phase = "in the write transaction"
    trial.check("integrity", integrity(db) == "ok", integrity(db))
    after_kill = normalise(db)
    trial.check(
        "intact",
        after_kill in (world.first, world.expected),
        _diff(after_kill, world.first),
    )
    t1 = time.monotonic()
    nxt = run_scan_process(cfg)
    trial.next_s = round(time.monotonic() - t1, 3)
    trial.check("next_scan", nxt.returncode == 2 and _status(nxt) == "ok", nxt.stderr[-2000:])
    final = normalise(db)
    trial.check(
        "records",
        _part(final, "records", "events", "resources")
        == _part(world.expected, "records", "events", "resources"),
        _diff(final, world.expected),
    )
    trial.check(
        "outbox",
        _part(final, "outbox", "alert_items") == _part(world.expected, "outbox", "alert_items"),
        _diff(final, world.expected),
    )
    before = len(received)
    got = deliver(cfg, db)
    new = received[before:]
    sent = sorted((d["id"], d["event"]) for r in new for d in r["json"]["drifts"])
    trial.check(
        "delivered",
        got == world.expected_delivery == sent and _unique_ids(new),
        (sent, world.expected_delivery),
    )
    shutil.rmtree(trial_dir)
    return trial


def _delay(world: World, rng: random.Random, mode: str, jitter_s: float) -> float:
    if mode == "whole-run":
        return round(rng.uniform(0, world.scan_s * 1.05), 3)
    if mode == "mid-scan":
        return round(rng.uniform(0, (world.scan_s - world.row_s) * 1.05), 3)
    return round(rng.uniform(0, jitter_s), 4)


def wait_for_write_lock(proc: subprocess.Popen[bytes], db: Path) -> bool:
    """Poll (a BEGIN IMMEDIATE that gives up at once) until another connection holds the
    write lock; False when the process ended first."""
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return True
                raise
            time.sleep(0.0005)
        return False
    finally:
        conn.close()


def write_like(world: World, trial_dir: Path) -> Path:
    """The world's config, with storage under the trial's directory."""
    text = (world.root / "driftwatch.toml").read_text()
    path = trial_dir / "driftwatch.toml"
    path.write_text(text)
    return path


def phase(db: Path) -> str:
    """Where the kill landed, read from the scans table it left behind."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT status FROM scans ORDER BY id").fetchall()
    finally:
        conn.close()
    if len(rows) == 1:
        return "before the scan row"
    return "mid-scan" if rows[-1][0] == "running" else "after commit"


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def _status(run: subprocess.CompletedProcess[str]) -> str:
    try:
        return str(json.loads(run.stdout)["scan"]["status"])
    except (ValueError, KeyError):
        return "no JSON"


def _part(state: dict[str, Any], *keys: str) -> list[Any]:
    return [state[k] for k in keys]


def _unique_ids(requests: list[dict[str, Any]]) -> bool:
    ids = Counter(r["headers"]["X-Driftwatch-Delivery"] for r in requests)
    return all(n == 1 for n in ids.values())


def _diff(got: dict[str, Any], want: dict[str, Any]) -> str:
    return "; ".join(
        f"{k}: +{sorted(set(map(str, got[k])) - set(map(str, want[k])))[:3]} "
        f"-{sorted(set(map(str, want[k])) - set(map(str, got[k])))[:3]} "
        f"(len {len(got[k])} vs {len(want[k])})"
        for k in got
        if got[k] != want[k]
    )
