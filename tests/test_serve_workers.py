"""`driftwatch serve --workers 2` as a real process tree: requests are answered by two
worker processes, exactly one scheduler runs (in the serve process, holding the lease),
and the whole tree goes away with the serve process, even when it is killed."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.serve import Server
from werkzeug.test import Client

from driftwatch.web.workers import TrustedProxy, gunicorn_command

WAIT_S = 15.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    cfg = tmp_path / "driftwatch.toml"
    cfg.write_text(f'[git]\nurl = "{tmp_path}"\n[storage]\npath = "state/driftwatch.db"\n')
    srv = Server(cfg, tmp_path / "serve.log", "--workers", "2", "--threads", "2")
    try:
        srv.wait_ready()  # the first worker answers; the second may still be forking
        deadline = time.monotonic() + WAIT_S
        while len(descendants(srv.proc.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield srv
    finally:
        tree = descendants(srv.proc.pid)
        srv.stop()
        for pid in tree:  # what the test started, should anything outlive serve
            if ours(pid, srv.port):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def ours(pid: int, port: int) -> bool:
    """Still our gunicorn process (not a new process that reuses its id)."""
    try:
        return f"127.0.0.1:{port}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def connection_owners(port: int, pids: list[int]) -> set[int]:
    """Which of `pids` hold an established connection accepted on `port` (/proc/net/tcp)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":  # ESTABLISHED
                inodes.add(f"socket:[{f[9]}]")
    owners = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in inodes:
                    owners.add(pid)
            except OSError:
                continue
    return owners


def test_two_worker_processes_answer_and_one_scheduler_runs(served: Server) -> None:
    (arbiter,) = children(served.proc.pid)
    workers = children(arbiter)
    assert len(workers) == 2 and served.proc.pid not in workers

    # Keep-alive connections stay with the worker that accepted them: open some (each
    # answered) until both workers hold one.
    conns: list[http.client.HTTPConnection] = []
    owners: set[int] = set()
    deadline = time.monotonic() + WAIT_S
    try:
        while owners != set(workers) and time.monotonic() < deadline and len(conns) < 200:
            for _ in range(4):
                c = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
                c.request("GET", "/healthz")
                resp = c.getresponse()
                assert resp.status == 200 and b'"status":"ok"' in resp.read()
                conns.append(c)
            owners = connection_owners(served.port, workers)
    finally:
        for c in conns:
            c.close()
    assert owners == set(workers), f"answered only by {owners} of {workers}"

    # One scheduler: the serve process holds the lease; no worker ever announced one.
    db = Path(served.log.parent / "state" / "driftwatch.db")
    deadline = time.monotonic() + WAIT_S
    holder = None
    while holder is None and time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT holder, expires_at FROM leases").fetchone()
        if row and row[1] > time.time():
            holder = row[0]
        else:
            time.sleep(0.2)
    assert holder is not None and holder.split(":")[1] == str(served.proc.pid)
    log = served.log.read_text()
    assert log.count("driftwatch: scheduler ") == 1, log
    assert log.count("Booting worker with pid") == 2, log


def test_sigterm_stops_the_tree_and_releases_the_lease(served: Server) -> None:
    tree = descendants(served.proc.pid)
    assert len(tree) == 3  # the gunicorn arbiter and its two workers
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=WAIT_S) == 0
    assert not [p for p in tree if alive(p)]
    db = served.log.parent / "state" / "driftwatch.db"
    with sqlite3.connect(db) as conn:
        (expires,) = conn.execute("SELECT expires_at FROM leases").fetchone()
    assert expires == 0  # released: a standby takes over at once


def test_a_killed_serve_takes_its_workers_with_it(served: Server) -> None:
    tree = descendants(served.proc.pid)
    assert len(tree) == 3
    served.proc.kill()
    served.proc.wait(timeout=WAIT_S)
    deadline = time.monotonic() + WAIT_S
    while [p for p in tree if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in tree if alive(p)]
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", served.port, timeout=5).connect()


def _echo(environ: dict[str, object], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    seen = [str(environ.get(k)) for k in ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_X_FORWARDED_FOR")]
    return [" ".join(seen).encode()]


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ("10.0.0.5", "203.0.113.9 https"),  # the proxy: believed
        ("10.0.0.6", "10.0.0.6 http None"),  # anyone else: the headers are dropped
    ],
)
def test_trusted_proxy_is_believed_and_no_one_else(peer: str, expected: str) -> None:
    app = TrustedProxy(_echo, "10.0.0.5")
    answer = Client(app).get(
        "/",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": peer},
    )
    assert answer.get_data(as_text=True).startswith(expected)


def test_gunicorn_trusts_no_forwarded_scheme_without_a_proxy() -> None:
    cmd = gunicorn_command("::1", 8000, 2, 4, None)
    allowed = cmd[cmd.index("--forwarded-allow-ips") + 1]
    assert "127.0.0.1" not in allowed and "::1" not in allowed
    assert cmd[cmd.index("--bind") + 1] == "[::1]:8000"
    assert cmd[-1] == "driftwatch.web.workers:workers_app()"
