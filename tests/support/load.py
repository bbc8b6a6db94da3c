"""Load on a real `driftwatch serve`: logged-in clients reading pages for a while, and
scans run back to back beside them (used by tests/test_web_attack_e2e.py and
bench/load_bench.py)."""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from support.serve import Client


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # exceptions: resets, timeouts

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        """Answers other than 200, and requests that got no answer."""
        return sum(n for s, n in self.statuses.items() if s != 200) + len(self.errors)

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)

    def pct(self, p: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]

    def summary(self) -> dict[str, float | int]:
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "rps": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
            "failed": self.failed,
            "5xx": self.server_errors,
            "p50_ms": round(self.pct(50), 1),
            "p95_ms": round(self.pct(95), 1),
            "p99_ms": round(self.pct(99), 1),
        }


def run_load(
    port: int,
    paths: list[str],
    clients: int,
    seconds: float,
    user: str,
    password: str,
    seed: int = 13,
) -> LoadResult:
    """`clients` threads, each logged in with its own session and keep-alive connection,
    GET random `paths` until `seconds` have passed."""
    result = LoadResult(clients, seconds)
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    stop = threading.Event()

    def one(n: int) -> None:
        rng = random.Random(seed + n)
        client = Client(port, timeout_s=30)
        mine: list[float] = []
        statuses: Counter[int] = Counter()
        errors: list[str] = []
        try:
            resp = client.login(user, password)
            if resp.status != 302:
                errors.append(f"login: HTTP {resp.status}")
                client.cookie = ""
        except OSError as exc:
            errors.append(f"login: {exc!r}")
            client.cookie = ""
        ready.wait()
        while not stop.is_set() and client.cookie:
            path = rng.choice(paths)
            t = time.perf_counter()
            try:
                status = client.get(path).status
            except (OSError, ValueError) as exc:  # http.client raises both on a bad answer
                errors.append(f"{path}: {exc!r}")
                client.close()
                client = Client(port, client.headers, client.cookie)
                continue
            mine.append((time.perf_counter() - t) * 1000)
            statuses[status] += 1
        client.close()
        with lock:
            result.latencies_ms += mine
            result.statuses.update(statuses)
            result.errors += errors

    threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
    for th in threads:
        th.start()
    ready.wait()
    start = time.monotonic()
    time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join(timeout=60)
    result.seconds = time.monotonic() - start
    return result


@dataclass
class ScanLoop:
    """`driftwatch scan` processes run one after another until stopped; their exit codes."""

    config: Path
    codes: list[int] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            proc = subprocess.run(
                [sys.executable, "-m", "driftwatch", "scan", "--config", str(self.config),
                 "--format", "json"],
                capture_output=True,
                text=True,
                timeout=300,
            )  # fmt: skip
            self.codes.append(proc.returncode)
            self.stderr.append(proc.stderr[-2000:])

    def __enter__(self) -> ScanLoop:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=300)
