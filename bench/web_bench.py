"""Dashboard benchmark: `driftwatch serve` over a large database, 20 concurrent clients.

    .venv/bin/python bench/web_bench.py                 # the figures in docs/benchmarks.md
    .venv/bin/python bench/web_bench.py --requests 200  # quicker

Builds a database with 100,000 resources, 20,000 open drifts (300,000 drift records
in all, the rest resolved), 1,000,000 drift events and 500 scans, through the real
schema (migrations), then starts `driftwatch serve` as a real process on a free
loopback port and measures p50/p95/p99 latency of each page and API call under 20
concurrent keep-alive clients, and the server's CPU time per request (its process
tree's, from /proc: what a request costs, whatever else loads the machine). It does
so for `serve --workers 1` (waitress, one process) and `--workers N` back to back,
and first for an older checkout's `serve` with --baseline-src, and prints the ratios.
Targets: p95 < 100 ms for each, /metrics < 250 ms. Then it times one scan of 10,000
resources persisting into that database (< 2 s).

    git archive df3f89d | tar -x -C /tmp/old            # the serve before --workers
    .venv/bin/python bench/web_bench.py --workdir /tmp/dwb --baseline-src /tmp/old
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from driftwatch.lifecycle import Coverage, text_hash
from driftwatch.models import Change, Finding, Kind, Scope, fingerprint
from driftwatch.store import Actor, ScanWrite, Store
from driftwatch.store.read import encode_cursor
from driftwatch.users import ADMIN, hash_password, new_token, token_hash

ACCOUNTS = ("prod", "staging", "dev", "shared")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
TYPES = (
    "aws_s3_bucket",
    "aws_security_group",
    "aws_instance",
    "aws_iam_role",
    "aws_lambda_function",
    "aws_sqs_queue",
    "aws_sns_topic",
    "aws_dynamodb_table",
)
DRIFT_KINDS = ("modified", "missing", "unmanaged")
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def stamp(minutes: float) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def place(i: int) -> tuple[str, str, str, str]:
    return (
        ACCOUNTS[i % len(ACCOUNTS)],
        REGIONS[(i // 4) % len(REGIONS)],
        TYPES[(i // 12) % len(TYPES)],
        f"res-{i:07d}",
    )


def build(path: Path, resources: int, open_: int, resolved: int, events: int, scans: int) -> None:
    Store(path).close()  # the real schema, through the migrations
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        _scans(conn, scans)
        _resources(conn, resources, open_, scans)
        fps = _drifts(conn, resources, open_, resolved, scans)
        _events(conn, fps, events, scans)
    conn.execute("ANALYZE")
    conn.close()


def _scans(conn: sqlite3.Connection, n: int) -> None:
    conn.executemany(
        "INSERT INTO scans (id, started_at, finished_at, status, commit_sha, in_sync, modified, "
        "missing, unmanaged, not_checked, duration_s, api_calls, declared, open_drifts, "
        "acknowledged_drifts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            (i, stamp(i * 60), stamp(i * 60 + 3), "partial" if i == n else "ok",
             f"{i:040x}", 80_000, 12_000, 4_000, 4_000, 0, 180.0, 25_000, 96_000,
             20_000 - (n - i) * 7, 0)
            for i in range(1, n + 1)
        ),
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO scope_errors (scan_id, account, region, type, error, internal) "
        "VALUES (?,?,?,?,?,0)",
        [(n, "dev", r, "aws_iam_role", "AccessDenied: not authorized") for r in REGIONS],
    )


def _resources(conn: sqlite3.Connection, n: int, open_: int, scans: int) -> None:
    rows, snaps, seen = [], [], []
    for i in range(n):
        account, region, rtype, rid = place(i)
        kind = DRIFT_KINDS[i % 3] if i < open_ else "in_sync"
        key = "/".join((account, region, rtype, rid))
        snap = json.dumps({"id": rid, "tags": {"team": f"team-{i % 17}"}, "versioning": "Enabled"})
        digest = text_hash(snap)
        source = None if kind == "unmanaged" else f"declared/{rtype}/{i // 500}.yaml"
        rows.append((key, account, region, rtype, rid, rid, kind, source, digest, stamp(0)))
        seen.append((key, stamp(scans * 60 + 3), scans))
        snaps.append((key, 1, stamp(3), kind, digest, snap))
    conn.executemany(
        "INSERT INTO resources (key, account, region, type, resource_id, live_id, kind, source, "
        "snapshot_hash, first_seen) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO resource_seen (key, last_seen, last_scan_id) VALUES (?,?,?)", seen
    )
    conn.executemany(
        "INSERT INTO snapshots (key, scan_id, at, kind, hash, snapshot) VALUES (?,?,?,?,?,?)",
        snaps,
    )


def _drifts(
    conn: sqlite3.Connection, resources: int, open_: int, resolved: int, scans: int
) -> list[str]:
    rows, fps, seen = [], [], []
    changes = json.dumps([{"path": "tags.team", "declared": "platform", "live": "data"}])
    for i in range(open_ + resolved):
        account, region, rtype, rid = place(i % resources)
        is_open = i < open_
        kind = DRIFT_KINDS[i % 3]
        rid = rid if is_open else f"{rid}-old-{i}"
        fp = fingerprint(account, region, rtype, rid, kind)
        fps.append(fp)
        first = random.uniform(0, scans * 60)
        rows.append((
            fp, account, region, rtype, rid, kind, "open" if is_open else "resolved",
            None if kind == "unmanaged" else f"declared/{rtype}/{i // 500}.yaml",
            changes if kind == "modified" else "[]", text_hash(changes), stamp(first),
            None if is_open else stamp(first + 600), None if is_open else "in sync", 1,
        ))  # fmt: skip
        seen.append((fp, stamp(scans * 60 + 3) if is_open else stamp(first + 600), scans))
    conn.executemany(
        "INSERT INTO drifts (fingerprint, account, region, type, resource_id, kind, status, "
        "source, changes, changes_hash, first_seen, resolved_at, resolved_reason, "
        "opened_scan_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO drift_seen (fingerprint, last_seen, last_scan_id) VALUES (?,?,?)", seen
    )
    return fps


def _events(conn: sqlite3.Connection, fps: list[str], n: int, scans: int) -> None:
    names = ("opened", "changed", "changed", "resolved")
    batch: list[tuple[Any, ...]] = []
    for j in range(n):
        batch.append((fps[j % len(fps)], 1 + j % scans, stamp(j / n * scans * 60),
                      names[(j // len(fps)) % 4], None))  # fmt: skip
        if len(batch) == 100_000:
            conn.executemany(
                "INSERT INTO drift_events (fingerprint, scan_id, at, event, changes) "
                "VALUES (?,?,?,?,?)",
                batch,
            )
            batch = []
    if batch:
        conn.executemany(
            "INSERT INTO drift_events (fingerprint, scan_id, at, event, changes) "
            "VALUES (?,?,?,?,?)",
            batch,
        )


def token_for(path: Path) -> str:
    store = Store(path)
    store.upsert_user("bench", hash_password("bench password"), ADMIN, Actor("bench"))
    secret = new_token()
    user_id = store.db.execute("SELECT id FROM users WHERE name = 'bench'").fetchone()[0]
    store.add_token(user_id, "bench", "read", token_hash(secret), secret[:10], Actor("bench"))
    store.close()
    return secret


def page_5000_cursor(path: Path) -> str:
    conn = sqlite3.connect(path)
    row = conn.execute(
        "SELECT first_seen, fingerprint FROM drifts ORDER BY first_seen DESC, fingerprint DESC "
        "LIMIT 1 OFFSET ?",
        [4999 * 50 - 1],  # the last row of page 4,999: the cursor page 4,999 hands out
    ).fetchone()
    conn.close()
    return encode_cursor(list(row))


def targets(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    fp = conn.execute(
        "SELECT fingerprint FROM drifts WHERE status = 'open' AND kind = 'modified' "
        "LIMIT 1 OFFSET 777"
    ).fetchone()[0]
    key = conn.execute("SELECT key FROM resources LIMIT 1 OFFSET 4242").fetchone()[0]
    conn.close()
    cursor = page_5000_cursor(path)
    return [
        ("overview", "/"),
        ("drift list, page 1", "/drifts"),
        ("drift list, page 5,000 (cursor)", f"/drifts?status=all&cursor={cursor}"),
        ("drift list, type + account", "/drifts?type=aws_iam_role&account=staging"),
        ("drift list, free text", "/drifts?q=res-00123"),
        ("drift list, free text, rare", "/drifts?q=0012345"),
        ("drift list, free text, all statuses", "/drifts?status=all&q=res-00123"),
        ("drift detail", f"/drifts/{fp}"),
        ("resource page", "/resources/" + urllib.parse.quote(key)),
        ("GET /api/v1/drifts", "/api/v1/drifts"),
        ("GET /metrics", "/metrics"),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(port: int, token: str, url: str, clients: int, requests: int) -> list[float]:
    """Latencies (ms) of `requests` GETs spread over `clients` keep-alive connections."""
    latencies: list[float] = []
    lock = threading.Lock()
    per = max(1, requests // clients)
    headers = {"Authorization": f"Bearer {token}"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for _ in range(per):
            t = time.perf_counter()
            conn.request("GET", url, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            mine.append((time.perf_counter() - t) * 1000)
            if resp.status != 200:
                raise SystemExit(f"{url}: HTTP {resp.status}: {body[:300]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def serve(
    path: Path, workdir: Path, threads: int, workers: int, src: Path | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """`driftwatch serve` on a free port: this checkout's, or the one in `src` (a baseline
    from another commit: `git archive REV | tar -x -C DIR`), which is run as it was."""
    cfg = workdir / "driftwatch.toml"
    cfg.write_text(f'[git]\nurl = "{workdir}"\n[storage]\npath = "{path}"\n')
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "driftwatch", "serve", "--config", str(cfg), "--port", str(port),
         "--threads", str(threads)] + ([] if src else ["--workers", str(workers)]),
        stdout=subprocess.DEVNULL,
        stderr=(workdir / f"serve-{workers}.log").open("wb"),
        cwd=workdir,  # not this checkout: `-m driftwatch` would import it first
        env={**os.environ, "PYTHONPATH": str(src)} if src else None,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    log = (workdir / f"serve-{workers}.log").read_text()
    raise SystemExit("driftwatch serve did not start: " + log)


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants (Linux /proc)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parent[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree, todo = set(), [pid]
    while todo:
        p = todo.pop()
        tree.add(p)
        todo.extend(c for c, pp in parent.items() if pp == p and c not in tree)
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def explain(path: Path) -> list[str]:
    """The query plans of the drift list's first page, a filtered page and free text
    (the ordered scan, and the trigram index for the text's rarest trigrams)."""
    from driftwatch.store.read import _DRIFT_HITS, DriftQuery, _drift_filters, _keyset, text_match

    conn = sqlite3.connect(path)
    out = []
    text = DriftQuery(q="res-00123")
    for q in (DriftQuery(), DriftQuery(type="aws_iam_role", account="staging"), text, text):
        where, args = _drift_filters(q)
        _, _, order = _keyset(("first_seen", "fingerprint"), True, None)
        source = "drifts"
        if q is text and out[-1].startswith("SELECT * FROM drifts WHERE status = ? AND instr"):
            source = f"({_DRIFT_HITS}) CROSS JOIN drifts ON drifts.fingerprint = hit"
            args = [text_match(conn, "res-00123")[1], "res-00123", *args]
        sql = f"SELECT * FROM {source} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT 51"
        plan = conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
        out.append(sql + "\n" + "\n".join("  " + r[3] for r in plan))
    conn.close()
    return out


def persist_10k(path: Path, prefix: str = "bench") -> float:
    """One scan of 10,000 resources (a tenth drifting) persisted into the big database."""
    scope = Scope("prod", "us-east-1", "aws_s3_bucket")
    fs = []
    for i in range(10_000):
        rid = f"{prefix}-{i:05d}"
        drift = i % 10 == 0
        fs.append(Finding(
            Kind.MODIFIED if drift else Kind.IN_SYNC, scope.type, rid, scope.account,
            scope.region, source="declared/bench.yaml", live_id=rid,
            changes=[Change("tags.team", "platform", "data")] if drift else [],
            snapshot={"id": rid, "tags": {"team": "data" if drift else "platform"}},
        ))  # fmt: skip
    store = Store(path)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # start from a checkpointed file
    scan_id = store.start_scan(stamp(10**6))
    # The config still watches every scope and declares what it declared: this scan
    # reads one scope, so records elsewhere stay as they are (as in a real scan that
    # reads part of the estate, e.g. one scope failed or a type is filtered out).
    declared = {
        tuple(r)
        for r in store.db.execute(
            "SELECT account, region, type, resource_id FROM resources WHERE source IS NOT NULL"
        )
    }
    cov = Coverage(
        read=frozenset({scope}),
        declared=frozenset(declared | {f.key for f in fs}),
        watched=frozenset(Scope(a, r, t) for a in ACCOUNTS for r in REGIONS for t in TYPES),
        regions=frozenset((a, r) for a in ACCOUNTS for r in REGIONS),
    )
    t = time.perf_counter()
    store.persist_scan(
        ScanWrite(scan_id, stamp(10**6 + 1), "ok", "f" * 40, fs, [], cov,
                  dt.timedelta(hours=24), len(fs))
    )  # fmt: skip
    took = time.perf_counter() - t
    store.close()
    return took


def run_serve(
    path: Path,
    workdir: Path,
    token: str,
    args: argparse.Namespace,
    workers: int,
    src: Path | None = None,
) -> dict[str, Any]:
    """Start `serve --workers N` (or the baseline's `serve`), measure every target, stop it."""
    proc, port = serve(path, workdir, args.threads, workers, src)
    results: dict[str, Any] = {}
    try:
        label = f"baseline serve from {src}" if src else f"serve --workers {workers}"
        print(f"\n== {label}: load average before "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
        print(
            f"{'endpoint':36} {'p50':>7} {'p95':>7} {'p99':>7}  (ms, {args.clients} clients)"
            f" {'1 client p50':>13} {'CPU ms/req':>11}"
        )
        for name, url in targets(path):
            measure(port, token, url, args.clients, args.clients)  # warm-up
            cpu0 = tree_cpu_s(proc.pid)
            lat = measure(port, token, url, args.clients, args.requests)
            cpu = (tree_cpu_s(proc.pid) - cpu0) * 1000 / len(lat)
            alone = statistics.median(measure(port, token, url, 1, 30))
            row = {p: round(pct(lat, p), 1) for p in (50, 95, 99)}
            results[name] = {**row, "1 client p50": round(alone, 1), "cpu_ms": round(cpu, 2)}
            print(
                f"{name:36} {row[50]:7.1f} {row[95]:7.1f} {row[99]:7.1f} {alone:13.1f} {cpu:11.2f}"
            )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return results


def compare(base: dict[str, Any], new: dict[str, Any], title: str) -> None:
    print(f"\n== {title}, same run (ratio new / old)")
    print(f"{'endpoint':36} {'p95 old':>8} {'p95 new':>8} {'ratio':>6} "
          f"{'CPU/req old':>12} {'new':>6} {'ratio':>6}")  # fmt: skip
    for name, old in base.items():
        now = new[name]
        print(
            f"{name:36} {old[95]:8.1f} {now[95]:8.1f} {now[95] / old[95]:6.2f} "
            f"{old['cpu_ms']:12.2f} {now['cpu_ms']:6.2f} "
            f"{now['cpu_ms'] / max(old['cpu_ms'], 0.01):6.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--open", type=int, default=20_000)
    ap.add_argument("--resolved", type=int, default=280_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--scans", type=int, default=500)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument(
        "--threads", type=int, default=8, help="threads per web process (serve's default)"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="web worker processes measured against the baseline (1: waitress)",
    )
    ap.add_argument("--no-baseline", action="store_true", help="skip the --workers 1 run")
    ap.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="also measure the `serve` of an older checkout (e.g. `git archive df3f89d | "
        "tar -x -C /tmp/old`) first, as the baseline",
    )
    ap.add_argument("--requests", type=int, default=400, help="per endpoint")
    ap.add_argument("--no-persist", action="store_true", help="skip the 10k-scan timing")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    random.seed(8)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dw-web-bench-"))
    path = workdir / "driftwatch.db"
    if not path.exists():
        t = time.perf_counter()
        build(path, args.resources, args.open, args.resolved, args.events, args.scans)
        print(f"built {path} in {time.perf_counter() - t:.1f}s "
              f"({path.stat().st_size / 2**20:.0f} MiB)")  # fmt: skip
    token = token_for(path)
    for plan in explain(path):
        print(plan)
    results: dict[str, Any] = {}
    new = f"workers={args.workers}"
    if args.baseline_src:
        results["baseline"] = run_serve(path, workdir, token, args, 1, args.baseline_src)
    if not args.no_baseline and args.workers != 1:
        results["workers=1"] = run_serve(path, workdir, token, args, 1)
    results[new] = run_serve(path, workdir, token, args, args.workers)
    if "workers=1" in results:
        compare(results["workers=1"], results[new], f"--workers {args.workers} against 1")
    if "baseline" in results:
        compare(results["baseline"], results[new], f"--workers {args.workers} against the baseline")
    if not args.no_persist:
        took = [round(persist_10k(path, f"bench{i}"), 2) for i in range(3)]
        print(f"\npersist a scan of 10,000 new resources into this database, 3 times: {took} s")
        results["persist_10k_s"] = took
    print(json.dumps(results))


if __name__ == "__main__":
    main()
