"""One scan at a time per data directory: an advisory lock file that names its holder.

The lock is `flock` on `<data_dir>/scan.lock`: the kernel releases it when the holder
exits, however it exits, so a crash never leaves a stale lock behind. The file holds
the holder's pid and start time, for the message a waiting process prints.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from driftwatch.errors import LockError
from driftwatch.filemodes import FILE_MODE, make_private_dirs

LOCK_FILE = "scan.lock"


@contextmanager
def data_dir_lock(data_dir: Path, wait_s: float = 0.0, poll_s: float = 0.2) -> Iterator[None]:
    """Hold the data directory's lock, waiting up to `wait_s` seconds for it."""
    make_private_dirs(data_dir)
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    try:
        _acquire(fd, path, wait_s, poll_s)
        _write_holder(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _acquire(fd: int, path: Path, wait_s: float, poll_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockError(_busy_message(path, wait_s)) from None
            time.sleep(poll_s)


def _write_holder(fd: int) -> None:
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = json.dumps({"pid": os.getpid(), "started_at": started}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, text, 0)


def holder(path: Path) -> dict[str, object]:
    """What the lock file says about its holder ({} when unreadable)."""
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _busy_message(path: Path, wait_s: float) -> str:
    who = holder(path)
    held_by = f"pid {who.get('pid')}, started {who.get('started_at')}" if who else "another process"
    waited = f" after waiting {wait_s:g}s" if wait_s else ""
    return (
        f"another scan is running on {path.parent} ({held_by}){waited}; "
        "wait for it to finish, or pass --wait SECONDS to queue behind it"
    )
