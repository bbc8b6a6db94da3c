"""Store benchmark: persisting a scan, set-based, against the old per-row store.

    .venv/bin/python bench/store_bench.py                      # the figures in docs/benchmarks.md
    .venv/bin/python bench/store_bench.py --findings 20000 --resolved 100000 --events 500000

Part 1 (big scan): N findings, all modified, N open drifts; a second scan that changes
nothing. Measured in this run for the current store and for the store of 617526c
(`bench/legacy_store.py`): wall time of `persist_scan` and SQL statements executed.
Target: the current store persists the unchanged 100k scan in ≤ 2 s.

Part 2 (long history): a database holding R resolved drifts and E drift events, and
one holding none; each then persists the same scan (M findings, a tenth of them
drifting) twice. Each persist runs in a fresh child process, so its peak RSS is its own.
Target: persist time and peak RSS with the history no higher than without (within noise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from driftwatch.lifecycle import Coverage
from driftwatch.models import Change, Finding, Kind, Scope, fingerprint
from driftwatch.store import ScanWrite, Store

SCOPE = Scope("prod", "us-east-1", "aws_s3_bucket")
DAY = dt.timedelta(hours=24)


def findings(n: int, drifting_every: int = 1) -> list[Finding]:
    """n bucket findings; every `drifting_every`-th is modified, the rest in sync."""
    out = []
    for i in range(n):
        rid = f"bucket-{i:07d}"
        if i % drifting_every == 0:
            out.append(
                Finding(
                    Kind.MODIFIED, SCOPE.type, rid, SCOPE.account, SCOPE.region,
                    source=f"declared/s3-{i // 100}.yaml", live_id=rid,
                    changes=[Change("tags.team", "platform", "data")],
                    snapshot={"tags": {"team": "data"}, "versioning": "Enabled"},
                )
            )  # fmt: skip
        else:
            out.append(
                Finding(
                    Kind.IN_SYNC, SCOPE.type, rid, SCOPE.account, SCOPE.region,
                    source=f"declared/s3-{i // 100}.yaml", live_id=rid,
                    snapshot={"tags": {"team": "platform"}, "versioning": "Enabled"},
                )
            )  # fmt: skip
    return out


def coverage(fs: list[Finding]) -> Coverage:
    return Coverage(
        read=frozenset({SCOPE}),
        declared=frozenset(f.key for f in fs),
        watched=frozenset({SCOPE}),
        regions=frozenset({("prod", "us-east-1"), ("prod", "global")}),
    )


def stamp(i: int) -> str:
    return f"2026-11-27T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"


class Counted:
    """Counts the SQL statements a connection executes."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.n = 0
        conn.set_trace_callback(self._count)

    def _count(self, _sql: str) -> None:
        self.n += 1


def persist_current(store: Store, fs: list[Finding], cov: Coverage, at: str) -> None:
    scan_id = store.start_scan(at)
    store.persist_scan(ScanWrite(scan_id, at, "ok", "c0ffee", fs, [], cov, DAY, declared=len(fs)))


def persist_legacy(store: Any, fs: list[Finding], at: str) -> None:
    from legacy_store import ScanRecord

    store.persist_scan(ScanRecord(at, at, "ok", "c0ffee", fs, [], {SCOPE}))


def timed(persist: Callable[[list[Finding], str], None], fs: list[Finding], at: str) -> float:
    t0 = time.perf_counter()
    persist(fs, at)
    return time.perf_counter() - t0


def counted(
    persist: Callable[[list[Finding], str], None],
    fs: list[Finding],
    at: str,
    conn: sqlite3.Connection,
) -> int:
    """Statements executed by one persist, in a run of its own: the trace callback
    expands every statement's SQL text, which would distort a timed run."""
    counter = Counted(conn)
    persist(fs, at)
    conn.set_trace_callback(None)
    return counter.n


def big_scan(n: int, workdir: Path) -> dict[str, Any]:
    """Part 1: open n drifts, then persist the same n findings again (nothing changed).

    Every persist gets freshly built findings (built outside the timed region), as a
    real scan does: nothing computed on a finding by an earlier persist is reused.
    """
    from legacy_store import Store as LegacyStore

    cov = coverage(findings(n))
    out: dict[str, Any] = {"findings": n}
    current = Store(workdir / "current.db")
    unsearched = without_search(Store(workdir / "unsearched.db"))
    legacy = LegacyStore(workdir / "legacy.db")
    sides: dict[str, tuple[sqlite3.Connection, Callable[[list[Finding], str], None]]] = {
        "current": (current.db.conn, lambda fs, at: persist_current(current, fs, cov, at)),
        "no-fts": (
            unsearched.db.conn,
            lambda fs, at: persist_current(unsearched, fs, cov, at),
        ),
        "legacy": (legacy.db.conn, lambda fs, at: persist_legacy(legacy, fs, at)),
    }
    for name, (conn, persist) in sides.items():
        first = timed(persist, findings(n), stamp(1))
        again = [timed(persist, findings(n), stamp(2 + i)) for i in range(3)]
        statements = counted(persist, findings(n), stamp(9), conn)
        out[name] = {
            "first_s": round(first, 3),
            "unchanged_s": round(statistics.median(again), 3),
            "unchanged_runs": [round(t, 3) for t in again],
            "unchanged_statements": statements,
        }
        print(f"  {name:8} first scan {first:7.2f} s; "
              f"unchanged scan {out[name]['unchanged_s']:7.2f} s "
              f"(median of {out[name]['unchanged_runs']}; {statements:,} statements executed)",
              flush=True)  # fmt: skip
    out["ratio"] = round(out["legacy"]["unchanged_s"] / out["current"]["unchanged_s"], 1)
    for run in ("first_s", "unchanged_s"):
        out[f"search_cost_{run}"] = round(out["current"][run] / out["no-fts"][run], 2)
    return out


def without_search(store: Store) -> Store:
    """The current store without the drift search triggers: what they cost a persist."""
    for name in ("insert", "delete", "update"):
        store.db.execute(f"DROP TRIGGER drift_search_{name}")
    store.db.conn.commit()
    return store


def fill_history(path: Path, resolved: int, events: int) -> None:
    """R resolved drifts (other resources) and E events, written straight to the tables."""
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    # Bulk load without the secondary indexes, then build them once (sorted): much
    # faster than maintaining them row by row. The schema ends up exactly the same.
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('drifts', 'drift_events')"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX [{name}]")
    old = "2026-06-01T00:00:00Z"
    changes = json.dumps([{"declared": "platform", "live": "data", "path": "tags.team"}])
    conn.execute("INSERT INTO scans (id, started_at, finished_at, status) VALUES (1, ?, ?, 'ok')",
                 [old, old])  # fmt: skip
    fps = []
    batch: list[tuple[Any, ...]] = []
    for i in range(resolved):
        rid = f"old-bucket-{i:08d}"
        fp = fingerprint("prod", "us-east-1", "aws_s3_bucket", rid, "modified")
        fps.append(fp)
        batch.append(
            (
                fp,
                "prod",
                "us-east-1",
                "aws_s3_bucket",
                rid,
                "modified",
                "resolved",
                "declared/old.yaml",
                changes,
                "h",
                old,
                old,
                old,
                "in sync",
                1,
                1,
            )
        )
        if len(batch) == 50_000:
            _insert_drifts(conn, batch)
    _insert_drifts(conn, batch)
    rows: list[tuple[Any, ...]] = []
    for i in range(events):
        rows.append((fps[i % len(fps)], 1, old, "opened" if i % 2 == 0 else "resolved", changes))
        if len(rows) == 100_000:
            _insert_events(conn, rows)
    _insert_events(conn, rows)
    for _, sql in indexes:
        conn.execute(sql)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _insert_drifts(conn: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO drifts (fingerprint, account, region, type, resource_id, kind, status, "
        "source, changes, changes_hash, first_seen, last_seen, resolved_at, resolved_reason, "
        "opened_scan_id, last_scan_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        batch,
    )
    batch.clear()


def _insert_events(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO drift_events (fingerprint, scan_id, at, event, changes) VALUES (?,?,?,?,?)",
        rows,
    )
    rows.clear()


def child(path: str, m: int, at: str) -> None:
    """One persist in this (fresh) process; prints its time and peak RSS as JSON."""
    fs = findings(m, drifting_every=10)
    cov = coverage(fs)
    store = Store(path)
    base_rss = peak_rss_kb()
    t0 = time.perf_counter()
    persist_current(store, fs, cov, at)
    elapsed = time.perf_counter() - t0
    peak = peak_rss_kb()
    print(json.dumps({"s": elapsed, "peak_mb": peak / 1024, "growth_mb": (peak - base_rss) / 1024}))


def peak_rss_kb() -> int:
    """This process's peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that
    across exec, so a child started by a large parent would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_child(path: Path, m: int, at: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--findings", str(m), "--at", at],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(proc.stdout))


def long_history(m: int, resolved: int, events: int, workdir: Path, repeat: int) -> dict[str, Any]:
    paths = {"empty": workdir / "empty.db", "history": workdir / "history.db"}
    t0 = time.perf_counter()
    fill_history(paths["history"], resolved, events)
    Store(paths["empty"]).close()
    size = paths["history"].stat().st_size / 1e6
    print(f"  history: {resolved:,} resolved drifts, {events:,} events, {size:,.0f} MB "
          f"(filled in {time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
    out: dict[str, Any] = {"findings": m, "resolved": resolved, "events": events, "db_mb": size}
    for path in paths.values():
        run_child(path, m, stamp(1))  # the previous scan: opens m/10 drifts
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
    for i in range(repeat):  # interleaved, so both sides see the same machine load
        for name, path in paths.items():
            runs[name].append(run_child(path, m, stamp(2 + i)))
    for name, rs in runs.items():
        out[name] = {
            "persist_s": round(statistics.median(r["s"] for r in rs), 3),
            "peak_mb": round(statistics.median(r["peak_mb"] for r in rs), 1),
            "growth_mb": round(statistics.median(r["growth_mb"] for r in rs), 1),
        }
        print(f"  {name:8} persist {out[name]['persist_s']:.3f} s, peak RSS "
              f"{out[name]['peak_mb']:.1f} MB (+{out[name]['growth_mb']:.1f} MB during "
              f"persist), median of {repeat}", flush=True)  # fmt: skip
    out["time_ratio"] = round(out["history"]["persist_s"] / out["empty"]["persist_s"], 2)
    out["rss_ratio"] = round(out["history"]["peak_mb"] / out["empty"]["peak_mb"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--findings", type=int, default=100_000)
    ap.add_argument("--history-findings", type=int, default=10_000)
    ap.add_argument("--resolved", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--part", type=int, choices=(0, 1, 2), default=0, help="1 or 2 only; 0: both")
    ap.add_argument("--json", type=Path, help="Also write the results here.")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--at", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.findings, args.at)
        return
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dw-store-bench-") as tmp:
        if args.part in (0, 1):
            print(f"Part 1: {args.findings:,} findings and open drifts, nothing changes")
            part1 = results["big_scan"] = big_scan(args.findings, Path(tmp))
            met = "met" if part1["current"]["unchanged_s"] <= 2 else "MISSED"
            print(f"  ratio legacy / current (unchanged scan): {part1['ratio']}x; "
                  f"target current <= 2 s: {met}")  # fmt: skip
            print(f"  drift search triggers, current / no-fts: first scan "
                  f"{part1['search_cost_first_s']}x, unchanged {part1['search_cost_unchanged_s']}x")
        if args.part in (0, 2):
            print(f"Part 2: {args.history_findings:,} findings, with and without history")
            part2 = results["long_history"] = long_history(
                args.history_findings, args.resolved, args.events, Path(tmp), args.repeat
            )
            print(f"  history / empty: time {part2['time_ratio']}x, peak RSS {part2['rss_ratio']}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
